import ConfigModel
import Executors
import Foundation
import Logging
import Testing

@testable import Supervisor

/// Writes GGUF v3 headers (ggml docs/gguf.md) for tests: metadata only, no tensors.
struct GGUFWriter {
    enum Value {
        case u32(UInt32)
        case u64(UInt64)
        case f32(Float)
        case string(String)
        case strings([String])
        case i32s([Int32])
        case i32(Int32)
    }

    var pairs: [(String, Value)] = []

    func bytes() -> [UInt8] {
        var out: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func str(_ s: String) {
            u64(UInt64(s.utf8.count))
            out += Array(s.utf8)
        }
        u32(3)
        u64(0)
        u64(UInt64(pairs.count))
        for (key, value) in pairs {
            str(key)
            switch value {
            case .u32(let v):
                u32(4)
                u32(v)
            case .u64(let v):
                u32(10)
                u64(v)
            case .f32(let v):
                u32(6)
                u32(v.bitPattern)
            case .string(let s):
                u32(8)
                str(s)
            case .strings(let list):
                u32(9)
                u32(8)
                u64(UInt64(list.count))
                list.forEach(str)
            case .i32(let v):
                u32(5)
                u32(UInt32(bitPattern: v))
            case .i32s(let list):
                u32(9)
                u32(5)
                u64(UInt64(list.count))
                list.forEach { u32(UInt32(bitPattern: $0)) }
            }
        }
        return out
    }
}

@Suite struct GGUFHeaderTests {
    /// Mistral-7B-v0.1 as its published config.json gives it: num_hidden_layers 32, hidden_size 4096,
    /// num_attention_heads 32, num_key_value_heads 8, max_position_embeddings 32768 (GGUF: llama architecture).
    static let mistral7B = GGUFWriter(pairs: [
        ("general.architecture", .string("llama")),
        ("general.name", .string("mistralai_mistral-7b-v0.1")),
        ("llama.context_length", .u32(32768)),
        ("llama.embedding_length", .u32(4096)),
        ("llama.block_count", .u32(32)),
        ("llama.feed_forward_length", .u32(14336)),
        ("llama.rope.dimension_count", .u32(128)),
        ("llama.attention.head_count", .u32(32)),
        ("llama.attention.head_count_kv", .u32(8)),
        ("llama.attention.layer_norm_rms_epsilon", .f32(1e-5)),
        ("general.file_type", .u32(15)),
        ("tokenizer.ggml.model", .string("llama")),
        // A vocabulary-sized array that must be skipped, not kept.
        ("tokenizer.ggml.tokens", .strings((0..<32000).map { "tok\($0)" })),
        ("tokenizer.ggml.token_type", .i32s(Array(repeating: 1, count: 32000))),
        ("tokenizer.ggml.bos_token_id", .u32(1)),
    ])

    @Test func readsTheCountsOfARealSevenBModel() throws {
        let header = try GGUFHeader.parse(bytes: Self.mistral7B.bytes())
        #expect(header.architecture == "llama")
        #expect(header.blockCount == 32)
        #expect(header.embeddingLength == 4096)
        #expect(header.headCount == 32)
        #expect(header.headCountKV == 8)
        #expect(header.keyLength == 128 && header.valueLength == 128)
        #expect(header.contextLength == 32768)
    }

    /// `cached(path:)` reads a file once per version: the same answer while the file is unchanged, a new
    /// one once it is replaced, rewritten (even to the same size with its old mtime put back: the
    /// status-change time moves) or its permissions change.
    @Test func aHeaderIsReadOncePerVersionOfTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-cache-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.gguf").path
        func blocks(_ n: UInt32) -> [UInt8] {
            var writer = Self.mistral7B
            writer.pairs = writer.pairs.map { $0.0 == "llama.block_count" ? ($0.0, .u32(n)) : $0 }
            return writer.bytes()
        }
        try Data(blocks(32)).write(to: URL(fileURLWithPath: path))
        #expect(try GGUFHeader.cached(path: path).blockCount == 32)
        #expect(try GGUFHeader.cached(path: path).blockCount == 32)
        // Replaced (another inode): read again.
        try Data(blocks(40)).write(to: URL(fileURLWithPath: path), options: .atomic)
        #expect(try GGUFHeader.cached(path: path).blockCount == 40)
        // Rewritten in place to the same size, its mtime put back as it was.
        var before = stat()
        stat(path, &before)
        let fd = open(path, O_WRONLY)
        _ = blocks(41).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        var times = [before.st_atim, before.st_mtim]
        utimensat(AT_FDCWD, path, &times, 0)
        #expect(try GGUFHeader.cached(path: path).blockCount == 41)
        // A file that is not GGUF fails, from the cache as from the file.
        let bad = folder.appendingPathComponent("bad.gguf").path
        try Data("GGUF stand-in".utf8).write(to: URL(fileURLWithPath: bad))
        #expect(throws: GGUFHeader.ReadError.self) { try GGUFHeader.cached(path: bad) }
        #expect(throws: GGUFHeader.ReadError.self) { try GGUFHeader.cached(path: bad) }
        // One that cannot be opened is not remembered: once it can be, it is read.
        let missing = folder.appendingPathComponent("later.gguf").path
        #expect(throws: GGUFHeader.ReadError.self) { try GGUFHeader.cached(path: missing) }
        try Data(blocks(12)).write(to: URL(fileURLWithPath: missing))
        #expect(try GGUFHeader.cached(path: missing).blockCount == 12)
    }

    @Test func kvCacheOfASevenBModelMatchesTheKnownFigure() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mistral-\(UUID().uuidString.prefix(6)).gguf").path
        try Data(Self.mistral7B.bytes()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        func estimate(_ service: InferenceService) -> MemoryEstimate {
            let model = Model(name: "m", source: .path(path), format: .gguf)
            let resolved = ResolvedService(
                service: service, model: model, modelPath: path, runtime: ResolvedRuntime(name: "llama-server", source: .default), binary: "/bin/true",
                host: "127.0.0.1", port: 1)
            return MemoryEstimate.of(resolved, format: .gguf, path: path)
        }
        // 2 (K and V) x 32 layers x 4096 tokens x 8 KV heads x 128 dims x 2 bytes (f16) = 512 MiB.
        let f16 = estimate(InferenceService(name: "s", modelRef: "m", contextSize: 4096))
        #expect(f16.kvCacheBytes == 512 << 20)
        #expect(f16.bytes == f16.weightBytes + f16.kvCacheBytes)
        // q8_0 keys and values: 34 bytes per 32 values.
        let q8 = estimate(InferenceService(name: "s", modelRef: "m", contextSize: 4096, extraArgs: ["-ctk", "q8_0", "--cache-type-v=q8_0"]))
        #expect(q8.kvCacheBytes == (512 << 20) / 2 * 34 / 32)
        // Slots share llama-server's --ctx-size: more slots, same KV cache.
        #expect(estimate(InferenceService(name: "s", modelRef: "m", contextSize: 4096, parallelSlots: 4)).kvCacheBytes == 512 << 20)
        // The context llama-server runs with: extraArgs' last -c/--ctx-size wins over contextSize (it comes
        // later on the argv); 0 is the model's training context (32,768 tokens here).
        #expect(estimate(InferenceService(name: "s", modelRef: "m", contextSize: 1024, extraArgs: ["--ctx-size", "4096"])).kvCacheBytes == 512 << 20)
        #expect(estimate(InferenceService(name: "s", modelRef: "m", extraArgs: ["-c", "100", "--ctx-size=8192"])).kvCacheBytes == 1024 << 20)
        let trained = estimate(InferenceService(name: "s", modelRef: "m", contextSize: 4096, extraArgs: ["-c", "0"]))
        #expect(trained.kvCacheBytes == 4096 << 20)
        #expect(trained.detail.contains("32768 tokens"), "\(trained.detail)")
        #expect(estimate(InferenceService(name: "s", modelRef: "m", contextSize: 0)).kvCacheBytes == 4096 << 20)
        // llama-server reads `_` as `-` in a `--` flag: --ctx_size is --ctx-size, --cache_type_k is --cache-type-k.
        #expect(estimate(InferenceService(name: "s", modelRef: "m", contextSize: 1024, extraArgs: ["--ctx_size", "4096"])).kvCacheBytes == 512 << 20)
        #expect(
            estimate(InferenceService(name: "s", modelRef: "m", contextSize: 4096, extraArgs: ["--cache_type_k", "q8_0", "--cache_type_v=q8_0"])).kvCacheBytes
                == (512 << 20) / 2 * 34 / 32)
        // Without either, the executor's default (--ctx-size 2048).
        #expect(estimate(InferenceService(name: "s", modelRef: "m")).kvCacheBytes == 256 << 20)
    }

    static let notHeaders: [([UInt8], String)] = [
        (Array("GGUX".utf8) + [3, 0, 0, 0], "not a GGUF file"),
        (Array("GGUF".utf8) + [9, 0, 0, 0], "version 9"),
        (Array("GGUF".utf8) + [3, 0, 0], "truncated"),
    ]

    @Test(arguments: GGUFHeaderTests.notHeaders)
    func rejectsWhatIsNotAHeader(bytes: [UInt8], expected: String) {
        do {
            _ = try GGUFHeader.parse(bytes: bytes)
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    /// Counts no real model has (a uint64 layer count of 2^62, a negative int32 KV head count) are an
    /// unreadable header, estimated by the file's size alone: a helper's such file crashed the agent
    /// (a Double-to-Int64 trap) and a negative one made the committed memory negative.
    @Test(arguments: [
        ("llama.block_count", GGUFWriter.Value.u64(1 << 62)), ("llama.attention.head_count_kv", .i32(-1000)),
        ("llama.attention.key_length", .u64(UInt64(GGUFHeader.largestCount) + 1)),
    ])
    func countsNoModelHasAreAnUnreadableHeader(key: String, value: GGUFWriter.Value) throws {
        var pairs: [(String, GGUFWriter.Value)] = [
            ("general.architecture", .string("llama")), ("llama.block_count", .u32(2)), ("llama.embedding_length", .u32(64)),
            ("llama.attention.head_count", .u32(4)),
        ]
        pairs.removeAll { $0.0 == key }
        pairs.append((key, value))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("insane-\(UUID().uuidString.prefix(6)).gguf").path
        try Data(GGUFWriter(pairs: pairs).bytes()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: GGUFHeader.ReadError.self) { try GGUFHeader.read(path: path) }
        let model = Model(name: "m", source: .path(path), format: .gguf)
        let resolved = ResolvedService(
            service: InferenceService(name: "s", modelRef: "m", contextSize: 4096), model: model, modelPath: path,
            runtime: ResolvedRuntime(name: "llama-server", source: .default), binary: "/bin/true", host: "127.0.0.1", port: 1)
        let estimate = MemoryEstimate.of(resolved, format: .gguf, path: path)
        #expect(estimate.kvCacheBytes == 0 && estimate.bytes == estimate.weightBytes && estimate.bytes > 0, "\(estimate)")
        #expect(estimate.detail.contains("not a sane header"), "\(estimate.detail)")
    }

    /// A header that declares a string of 2^34 bytes (a sparse 16 GiB file): refused after 128 MiB, not
    /// read through (which held the agent's reconcile for about 35 s in a helper's trial).
    @Test func aHeaderLargerThan128MiBIsRefusedWithoutReadingIt() throws {
        var bytes: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        u32(3)
        u64(0)
        u64(1)
        u64(12)
        bytes += Array("general.name".utf8)
        u32(8)
        u64(1 << 34)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sparse-\(UUID().uuidString.prefix(6)).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(truncate(path, off_t(1 << 34) + 4096) == 0)
        do {
            _ = try GGUFHeader.read(path: path)
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("more than 128 MiB"), "\(error.message)")
        }
    }

    /// A sane header with a context of billions of tokens: the estimate saturates, it does not trap.
    @Test func aHugeContextSaturatesTheEstimate() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("huge-\(UUID().uuidString.prefix(6)).gguf").path
        try Data(Self.mistral7B.bytes()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = Model(name: "m", source: .path(path), format: .gguf)
        let resolved = ResolvedService(
            service: InferenceService(name: "s", modelRef: "m", contextSize: Int.max), model: model, modelPath: path,
            runtime: ResolvedRuntime(name: "llama-server", source: .default), binary: "/bin/true", host: "127.0.0.1", port: 1)
        let estimate = MemoryEstimate.of(resolved, format: .gguf, path: path)
        #expect(estimate.kvCacheBytes == 1 << 62 && estimate.bytes > estimate.kvCacheBytes, "\(estimate)")
    }

    @Test func aHeaderWithoutTheCountsIsAnError() {
        let bytes = GGUFWriter(pairs: [("general.architecture", .string("llama"))]).bytes()
        #expect(throws: GGUFHeader.ReadError.self) { try GGUFHeader.parse(bytes: bytes) }
    }

    /// The tiny model `scripts/provision` generates (scripts/make-tiny-models: 2 layers, 64 wide, 4 heads, 2 KV heads).
    @Test(
        .enabled(
            if: GGUFHeaderTests.tinyModel != nil || ProcessInfo.processInfo.environment["METAL_AGENT_E2E"] == "1",
            "run scripts/provision to generate examples/models/tiny-llama.gguf"))
    func readsTheGeneratedTinyModel() throws {
        let path = try #require(Self.tinyModel, "METAL_AGENT_E2E=1 but no tiny-llama.gguf")
        let header = try GGUFHeader.read(path: path)
        #expect(header.architecture == "llama")
        #expect(header.blockCount == 2)
        #expect(header.embeddingLength == 64)
        #expect(header.headCount == 4)
        #expect(header.headCountKV == 2)
        #expect(header.keyLength == 16)
        #expect(header.contextLength == 2048)
    }

    static var tinyModel: String? {
        let env = ProcessInfo.processInfo.environment
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates: [String?] = [
            env["METAL_AGENT_MODELS"].map { $0 + "/tiny-llama.gguf" }, repo.appendingPathComponent("examples/models/tiny-llama.gguf").path,
        ]
        return candidates.compactMap { $0 }.first { FileManager.default.fileExists(atPath: $0) }
    }

    @Test(arguments: [("24Gi", Int64(24) << 30), ("8192Mi", Int64(8192) << 20), ("1000", 1000), ("2G", 2_000_000_000), ("1.5Gi", Int64(1536) << 20)])
    func byteQuantities(text: String, bytes: Int64) {
        #expect(MemoryBudget.parseBytes(text) == bytes)
    }

    @Test(arguments: ["", "Gi", "-1Gi", "0", "24GB", "abc", "1e3"])
    func malformedByteQuantities(text: String) {
        #expect(MemoryBudget.parseBytes(text) == nil)
    }
}

/// Memory admission against the Model's own budget (`spec.hardware.memoryBudget`/`memoryFraction`) or
/// the agent's.
@Suite struct ModelMemoryBudgetTests {
    @Test func aModelsOwnBudgetReplacesTheAgentsForItsEntries() async throws {
        let admission = MemoryAdmission(budget: 100, mode: .enforce, logger: Logger(label: "test")) { _ in }
        // Over the agent's 100 bytes, but within its Model's 1,000.
        let big = try await admission.admit("big", bytes: 160, limit: 1000) { _ in Issue.record("big had to wait") }
        // The agent's budget for an entry whose Model sets none: 160 + 10 > 100, so it waits for big.
        let small = Task { try await admission.admit("small", bytes: 10) { _ in } }
        while await admission.committed != 160 { await Task.yield() }
        await admission.release(big)
        let grant = try await small.value
        #expect(grant.bytes == 10)
        #expect(await admission.committed == 10)
    }

    /// An entry whose estimate changed between two starts (its model file replaced) keeps its place:
    /// a larger estimate that fits and any smaller one are changed in place, and a smaller one admits
    /// waiters that now fit; one that grew past what is free is given up (a helper's trial saw a
    /// shrinking entry lose its memory to a waiter, which a release-then-admit allowed).
    @Test func aGrantResizedInPlaceKeepsItsPlaceAndAShrinkAdmitsWaiters() async throws {
        let admission = MemoryAdmission(budget: 100, mode: .enforce, logger: Logger(label: "test")) { _ in }
        let a = try await admission.admit("a", bytes: 80) { _ in Issue.record("a had to wait") }
        let (told, tell) = AsyncStream<String>.makeStream()
        let b = Task { try await admission.admit("b", bytes: 30) { tell.yield($0) } }
        var messages = told.makeAsyncIterator()
        #expect(await messages.next()?.contains("it starts when memory frees up") == true)
        let grown = try #require(await admission.resize(a, to: 90))
        #expect(await admission.committed == 90)
        let shrunk = try #require(await admission.resize(grown, to: 60))
        let bGrant = try await b.value
        #expect(shrunk.id == a.id && shrunk.bytes == 60)
        #expect(await admission.committed == 90)
        // Grown past what is free (60 + 30 held, 80 asked): given up.
        #expect(await admission.resize(shrunk, to: 80) == nil)
        #expect(await admission.committed == 30)
        // More than the whole budget on its own: the message says it cannot start as things are.
        let huge = Task { try await admission.admit("huge", bytes: 150) { tell.yield($0) } }
        #expect(await messages.next()?.contains("more than the memory budget of 100 bytes on its own") == true)
        huge.cancel()
        await #expect(throws: CancellationError.self) { try await huge.value }
        await admission.release(bGrant)
        #expect(await admission.committed == 0)
    }

    /// Capped estimates (2^62 bytes) of several entries, or a Model's budget of exabytes, add up past
    /// `Int64.max`: the sums saturate instead of trapping (a helper crashed the agent this way).
    @Test(arguments: [MemoryCheckMode.enforce, .warn])
    func hugeEstimatesSaturateInsteadOfOverflowing(mode: MemoryCheckMode) async throws {
        let admission = MemoryAdmission(budget: 1 << 30, mode: mode, logger: Logger(label: "test")) { _ in }
        let first = try await admission.admit("a", bytes: 1 << 62, limit: .max) { _ in Issue.record("a waited") }
        let second = try await admission.admit("b", bytes: 1 << 62, limit: .max) { _ in Issue.record("b waited") }
        _ = try await admission.admit("c", bytes: 1 << 62, limit: .max) { _ in Issue.record("c waited") }
        #expect(await admission.committed == .max)
        #expect(await admission.resize(second, to: 1 << 61, limit: .max) != nil)
        await admission.release(first)
        #expect(await admission.committed == (1 << 62) + (1 << 61))
    }

    @Test func theModelsBudgetFieldsAreReadAndUnusableValuesLeaveTheAgentsBudget() throws {
        func model(_ hardware: String) throws -> Model? {
            let yaml = """
                apiVersion: inference.llmkube.dev/v1alpha1
                kind: Model
                metadata: {name: m}
                spec:
                  source: /srv/m.gguf
                  hardware: {\(hardware)}
                """
            return try ConfigLoader.load(Array(yaml.utf8), file: "/srv/models.yaml").models["m"]
        }
        #expect(try model("memoryBudget: 24Gi")?.memoryBudgetBytes == 24 << 30)
        #expect(try model("memoryFraction: 0.5")?.memoryFraction == 0.5)
        // The CRD accepts any string and any number here: never a file error; unusable means "not set".
        #expect(try model("memoryBudget: lots")?.memoryBudgetBytes == nil)
        #expect(try model("memoryFraction: 1.5")?.memoryFraction == nil)
    }
}
