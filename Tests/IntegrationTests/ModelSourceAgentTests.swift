import Crypto
import Foundation
import Testing

@testable import Supervisor

#if canImport(Glibc)
import Glibc
#endif

/// The agent with models from URLs (local HTTP servers the test starts) and with memory admission,
/// running the fake runtime. Nothing leaves the machine.
@Suite(.timeLimit(.minutes(5))) struct ModelSourceAgentTests {
    static let payload: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
    static let digest = SHA256.hash(data: payload).map { String(format: "%02x", $0) }.joined()
    static let header = "apiVersion: inference.llmkube.dev/v1alpha1"

    static func config(source: String, sha256: String? = digest, services: [String] = ["chat"]) -> String {
        var docs = [
            "\(header)\nkind: Model\nmetadata: {name: web}\nspec:\n  source: \"\(source)\"\n  format: gguf" + (sha256.map { "\n  sha256: \($0)" } ?? "")
        ]
        docs += services.map { "\(header)\nkind: InferenceService\nmetadata: {name: \($0)}\nspec: {modelRef: web}" }
        return docs.joined(separator: "\n---\n") + "\n"
    }

    func storeFiles(_ agent: AgentHarness) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: agent.dir.path + "/store").filter { $0 != "checksums.json" }) ?? []
    }

    @Test func anHTTPSourceIsDownloadedWithVisibleProgressResumedAndServed() async throws {
        let server = try TestHTTPServer { _, n in .file(Self.payload, stallAfter: n == 0 ? 100_000 : nil) }
        let agent = try AgentHarness(config: Self.config(source: server.base + "/models/tiny.gguf"))
        try agent.start(["--model-store", agent.dir.path + "/store", "--download-retry-delay", "50ms"])
        // Stalled part-way: the entry is Pending, reason Downloading, with the bytes so far.
        let pending = try await agent.waitFor("chat Pending/Downloading with progress") { s in
            guard let c = agent.service("chat", in: s) else { return false }
            return c.phase == .Pending && c.reason == .Downloading && (c.download?.bytesDone ?? 0) >= 100_000
        }
        let download = try #require(agent.service("chat", in: pending)?.download)
        #expect(download.bytesTotal == Int64(Self.payload.count))
        #expect(download.source == server.base + "/models/tiny.gguf")
        server.releaseStalls()
        let ready = try await agent.waitFor("chat Ready on the downloaded file") { agent.service("chat", in: $0)?.phase == .Ready }
        let chat = try #require(agent.service("chat", in: ready))
        let path = try #require(chat.modelPath)
        #expect(path.hasPrefix(agent.dir.path + "/store/") && path.hasSuffix("-tiny.gguf"))
        #expect(FileManager.default.contents(atPath: path).map { [UInt8]($0) } == Self.payload)
        #expect(chat.download == nil)
        #expect(server.requests.last?.headers["range"]?.hasPrefix("bytes=") == true, "the second request resumed")
        let log = try String(contentsOfFile: agent.stderrPath, encoding: .utf8)
        let progressLines = log.components(separatedBy: "\n").filter { $0.contains("download progress") }
        #expect(!progressLines.isEmpty && progressLines.count <= 11, "one line per 10 %, not per chunk: \(progressLines.count)")
        try await agent.terminate()

        // A restart with the server gone: the store file is used without network access.
        server.stop()
        try agent.start(["--model-store", agent.dir.path + "/store"])
        try await agent.waitFor("chat Ready again, offline") { agent.service("chat", in: $0)?.phase == .Ready }
        try await agent.terminate()
    }

    @Test func notFoundFailsTheEntryWithTheHTTPStatus() async throws {
        let server = try TestHTTPServer { _, _ in .status(404, body: "no") }
        let agent = try AgentHarness(config: Self.config(source: server.base + "/missing.gguf"))
        try agent.start(["--model-store", agent.dir.path + "/store"])
        let s = try await agent.waitFor("chat Failed") { agent.service("chat", in: $0)?.phase == .Failed }
        let chat = try #require(agent.service("chat", in: s))
        #expect(chat.reason == .ModelDownloadFailed)
        #expect(chat.message?.contains("HTTP 404") == true, "\(chat.message ?? "")")
        try await agent.terminate()
    }

    @Test func wrongBytesFailWithChecksumMismatchAndLeaveNothingInTheStore() async throws {
        var wrong = Self.payload
        wrong[99] ^= 0x55
        let server = try TestHTTPServer { [wrong] _, _ in .file(wrong) }
        let agent = try AgentHarness(config: Self.config(source: server.base + "/m.gguf"))
        try agent.start(["--model-store", agent.dir.path + "/store"])
        let s = try await agent.waitFor("chat Failed") { agent.service("chat", in: $0)?.phase == .Failed }
        let chat = try #require(agent.service("chat", in: s))
        #expect(chat.reason == .ChecksumMismatch)
        #expect(chat.message?.contains(Self.digest) == true)
        #expect(storeFiles(agent).isEmpty, "store: \(storeFiles(agent))")
        try await agent.terminate()
    }

    @Test func twoEntriesShareOneDownloadAndRemovalAndSIGTERMKeepThePartial() async throws {
        let server = try TestHTTPServer { _, _ in .file(Self.payload, stallAfter: 60_000) }
        let agent = try AgentHarness(config: Self.config(source: server.base + "/m.gguf", services: ["a", "b"]))
        try agent.start(["--model-store", agent.dir.path + "/store"])
        try await agent.waitFor("both entries wait on the download") { s in
            s.services.count == 2 && s.services.allSatisfy { $0.reason == .Downloading && ($0.download?.bytesDone ?? 0) >= 60_000 }
        }
        #expect(server.requests.count == 1, "one download for both entries")
        // Removing one entry leaves the other's download running; removing both cancels it.
        try agent.renameSave(Self.config(source: server.base + "/m.gguf", services: ["b"]))
        try await agent.waitFor("a removed") { $0.services.map(\.name) == ["b"] }
        try await agent.terminate()
        #expect(storeFiles(agent).count == 1 && storeFiles(agent).first?.hasSuffix(".partial") == true, "store: \(storeFiles(agent))")
        #expect(server.requests.count == 1)
        // The next agent resumes the .partial.
        server.releaseStalls()
        try agent.start(["--model-store", agent.dir.path + "/store"])
        try await agent.waitFor("b Ready after the resume") { agent.service("b", in: $0)?.phase == .Ready }
        #expect(server.requests.last?.headers["range"] == "bytes=60000-")
        try await agent.terminate()
    }

    @Test func aHomePathIsTakenFromHOMEAndAMissingHOMEIsSaid() async throws {
        let agent = try AgentHarness(config: Self.config(source: "~/models/tiny.gguf", sha256: nil))
        try agent.start(environment: ["HOME": agent.dir.path])
        let s = try await agent.waitFor("chat Ready from ~/") { agent.service("chat", in: $0)?.phase == .Ready }
        #expect(agent.service("chat", in: s)?.modelPath == agent.dir.path + "/models/tiny.gguf")
        try await agent.terminate()
        try agent.start(environment: ["HOME": nil])
        let failed = try await agent.waitFor("chat Failed without HOME") { agent.service("chat", in: $0)?.phase == .Failed }
        #expect(agent.service("chat", in: failed)?.message?.contains("HOME is not set") == true)
        try await agent.terminate()
    }

    /// A GGUF header (llama, 2 layers, 64 wide, 4 heads, 2 KV heads) and some weight bytes.
    static func tinyGGUF(weights: Int = 100_000) -> [UInt8] {
        var out: [UInt8] = Array("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func str(_ s: String) {
            u64(UInt64(s.utf8.count))
            out += Array(s.utf8)
        }
        let ints: [(String, UInt32)] = [
            ("llama.block_count", 2), ("llama.embedding_length", 64), ("llama.attention.head_count", 4), ("llama.attention.head_count_kv", 2),
        ]
        u32(3)
        u64(0)
        u64(UInt64(ints.count + 1))
        str("general.architecture")
        u32(8)
        str("llama")
        for (key, value) in ints {
            str(key)
            u32(4)
            u32(value)
        }
        return out + [UInt8](repeating: 7, count: weights)
    }

    /// The estimate is made before every start, from the model file as it is then: a file replaced under
    /// the same path (a new download, another quantization) counts at the runtime's next start, not the
    /// size of the file that was there when the entry first started.
    @Test func aModelFileReplacedUnderARunningEntryIsEstimatedAgainAtItsNextStart() async throws {
        let agent = try AgentHarness(config: "")
        let path = agent.dir.path + "/models/tiny-real.gguf"
        try Data(Self.tinyGGUF()).write(to: URL(fileURLWithPath: path))
        try agent.write(
            "\(Self.header)\nkind: Model\nmetadata: {name: m}\nspec: {source: models/tiny-real.gguf}\n---\n"
                + "\(Self.header)\nkind: InferenceService\nmetadata: {name: one}\nspec: {modelRef: m, contextSize: 1024}\n")
        let kvCache = Int64(2 * 2 * 1024 * 2 * 16 * 2)
        let estimate = Int64(Self.tinyGGUF().count) + kvCache
        // The periodic re-check is off (1 h): it would find the deleted file below and stop the entry as
        // ModelNotFound, racing the two restarts this test counts (seen on a loaded CI machine).
        try agent.start(["--memory-budget", "\(estimate + estimate / 2)", "--resync-interval", "1h"])
        let first = try await agent.waitFor("one Ready") { agent.service("one", in: $0)?.phase == .Ready }
        #expect(agent.service("one", in: first)?.memoryEstimateBytes == estimate)
        let pid = try #require(agent.service("one", in: first)?.pid)
        // A bigger file replaces the model (rename, as a download does); the runtime then crashes.
        let bigger = Self.tinyGGUF(weights: 300_000)
        try Data(bigger).write(to: URL(fileURLWithPath: path + ".new"))
        #expect(rename(path + ".new", path) == 0)
        kill(pid, SIGKILL)
        // Its next start counts the new file, which is over the budget: it waits instead of starting.
        let after = try await agent.waitFor("one waiting for memory with the new estimate") { s in
            let one = agent.service("one", in: s)
            return one?.phase == .Pending && one?.reason == .InsufficientMemory
        }
        #expect(agent.service("one", in: after)?.memoryEstimateBytes == Int64(bigger.count) + kvCache)
        #expect(after.capabilities.memoryCommittedBytes == 0)
        // The file is put back while it waits: estimated again as it waits, it starts without an edit.
        try Data(Self.tinyGGUF()).write(to: URL(fileURLWithPath: path + ".new"))
        #expect(rename(path + ".new", path) == 0)
        let back = try await agent.waitFor("one Ready again with the first estimate") { agent.service("one", in: $0)?.phase == .Ready }
        #expect(agent.service("one", in: back)?.memoryEstimateBytes == estimate)
        #expect(back.capabilities.memoryCommittedBytes == estimate)
        // The file deleted under it, then a crash: the restarts keep its estimate and its memory (the
        // runtime says what is missing), instead of counting a missing file as 0 bytes.
        let restarts = agent.service("one", in: back)?.restarts ?? 0
        try FileManager.default.removeItem(atPath: path)
        kill(try #require(agent.service("one", in: back)?.pid), SIGKILL)
        let gone = try await agent.waitFor("one restarted twice without its file") { (agent.service("one", in: $0)?.restarts ?? 0) >= restarts + 2 }
        #expect(agent.service("one", in: gone)?.memoryEstimateBytes == estimate)
        #expect(gone.capabilities.memoryCommittedBytes == estimate)
        try await agent.terminate()
    }

    @Test func anEntryOverTheMemoryBudgetWaitsAndStartsWhenMemoryFreesUp() async throws {
        let agent = try AgentHarness(config: "")
        let path = agent.dir.path + "/models/tiny-real.gguf"
        try Data(Self.tinyGGUF()).write(to: URL(fileURLWithPath: path))
        func config(_ names: [String]) -> String {
            (["\(Self.header)\nkind: Model\nmetadata: {name: m}\nspec: {source: models/tiny-real.gguf}"]
                + names.map { "\(Self.header)\nkind: InferenceService\nmetadata: {name: \($0)}\nspec: {modelRef: m, contextSize: 1024}" })
                .joined(separator: "\n---\n") + "\n"
        }
        try agent.write(config(["one", "two"]))
        // The same estimate the agent makes: weights + KV cache (2 x 2 layers x 1024 tokens x 2 heads x 16 dims x 2 bytes).
        let estimate = Int64(Self.tinyGGUF().count) + 2 * 2 * 1024 * 2 * 16 * 2
        try agent.start(["--memory-budget", "\(estimate + estimate / 2)"])
        let s = try await agent.waitFor("one entry Ready, the other waiting for memory") { s in
            let phases = s.services.map(\.phase)
            return phases.contains(.Ready) && s.services.contains { $0.phase == .Pending && $0.reason == .InsufficientMemory }
        }
        let running = try #require(s.services.first { $0.phase == .Ready })
        let waiting = try #require(s.services.first { $0.reason == .InsufficientMemory })
        #expect(running.memoryEstimateBytes == estimate && waiting.memoryEstimateBytes == estimate)
        #expect(waiting.message?.contains("\(estimate) bytes") == true, "\(waiting.message ?? "")")
        #expect(waiting.pid == nil)
        #expect(s.capabilities.memoryBudgetBytes == estimate + estimate / 2)
        #expect(s.capabilities.memoryCommittedBytes == estimate)
        // Remove the running entry: the waiting one starts.
        try agent.renameSave(config([waiting.name]))
        let after = try await agent.waitFor("\(waiting.name) Ready once memory is free") { agent.service(waiting.name, in: $0)?.phase == .Ready }
        #expect(after.capabilities.memoryCommittedBytes == estimate)
        try await agent.terminate()
    }
}
