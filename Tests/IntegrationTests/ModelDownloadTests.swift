import ConfigModel
import Crypto
import Foundation
import Logging
import Testing

@testable import Supervisor

/// Downloads against real HTTP servers on 127.0.0.1 that each test starts: drops, stalls, wrong bytes,
/// redirects, 404s, Hugging Face sources through `HF_ENDPOINT`. Nothing leaves the machine.
@Suite(.timeLimit(.minutes(2))) struct ModelDownloadTests {
    /// 300 kB of non-repeating bytes, and their SHA-256.
    static let payload: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
    static let digest = hex(SHA256.hash(data: payload))

    static func hex(_ d: SHA256.Digest) -> String { d.map { String(format: "%02x", $0) }.joined() }

    /// Fast retries. The stall timeout is long: on a loaded CI machine a healthy local transfer can pause for
    /// over a second, and a spurious stall would add a request these tests count. Tests about stalls set
    /// their own short timeout and are written so that a spurious one changes nothing they check.
    static let policy = DownloadPolicy(attempts: 4, initialDelay: .milliseconds(50), maxDelay: .milliseconds(200), stallTimeout: .seconds(30))

    let dir: String
    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("metal-agent-dl-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func downloader(_ policy: DownloadPolicy = Self.policy) -> ModelDownloader {
        ModelDownloader(policy: policy, proxies: ProxySettings(environment: [:]), logger: Logger(label: "test"))
    }

    func download(_ url: String, sha256: String? = digest, to name: String = "m.gguf", policy: DownloadPolicy = Self.policy) async throws -> String {
        try await downloader(policy).download(.init(url: url, destination: dir + "/" + name, sha256: sha256)) { _ in }
    }

    func contents(_ name: String) -> [UInt8]? { FileManager.default.contents(atPath: dir + "/" + name).map { [UInt8]($0) } }

    func expectFailure(_ reason: Reason, _ body: () async throws -> Void) async -> ModelFetchError? {
        do {
            try await body()
            Issue.record("expected \(reason)")
            return nil
        } catch let error as ModelFetchError {
            #expect(error.reason == reason, "\(error)")
            return error
        } catch {
            Issue.record("expected ModelFetchError, got \(error)")
            return nil
        }
    }

    @Test func aDroppedConnectionIsResumedWithRangeAndVerified() async throws {
        let server = try TestHTTPServer { _, n in .file(Self.payload, dropAfter: n == 0 ? 120_000 : nil) }
        #expect(try await download(server.base + "/m.gguf") == Self.digest)
        #expect(contents("m.gguf") == Self.payload)
        #expect(contents("m.gguf.partial") == nil)
        let requests = server.requests
        #expect(requests.count == 2)
        #expect(requests.first?.headers["range"] == nil)
        // The second attempt resumes at what the first wrote (the client may drop the chunks it still
        // buffered when the connection ends early, so at most the 120 000 bytes sent).
        let range = try #require(requests.last?.headers["range"])
        let from = try #require(Int(range.dropFirst("bytes=".count).dropLast()), "\(range)")
        #expect(range.hasPrefix("bytes=") && range.hasSuffix("-") && from > 0 && from <= 120_000, "\(range)")
    }

    @Test func aPartialFileLeftByAnEarlierAgentIsResumed() async throws {
        try Data(Self.payload.prefix(100_000)).write(to: URL(fileURLWithPath: dir + "/m.gguf.partial"))
        let server = try TestHTTPServer { _, _ in .file(Self.payload) }
        #expect(try await download(server.base + "/m.gguf") == Self.digest)
        #expect(server.requests.map { $0.headers["range"] } == ["bytes=100000-"])
        #expect(contents("m.gguf") == Self.payload)
    }

    @Test func aStalledConnectionTimesOutAndIsRetriedAfterABackoff() async throws {
        // Every request that starts before byte 50 000 goes silent there, so whatever the timing (a loaded
        // machine may time out early, too), the download can only get past it with a resume from exactly 50 000.
        let server = try TestHTTPServer { request, _ in
            let from = request.headers["range"].flatMap { Int($0.dropFirst("bytes=".count).prefix { $0 != "-" }) } ?? 0
            return .file(Self.payload, stallAfter: from < 50_000 ? 50_000 - from : nil)
        }
        let policy = DownloadPolicy(attempts: 8, initialDelay: .milliseconds(50), maxDelay: .milliseconds(200), stallTimeout: .seconds(2))
        #expect(try await download(server.base + "/m.gguf", policy: policy) == Self.digest)
        #expect(server.requests.count >= 2)
        #expect(server.requests.first?.headers["range"] == nil)
        // After the stall the download resumes from exactly 50 000 (a spurious timeout later, on a loaded
        // machine, may add a resume from further on).
        #expect(server.requests.contains { $0.headers["range"] == "bytes=50000-" }, "\(server.requests.map { $0.headers["range"] })")
    }

    @Test func aServerThatAlwaysStallsFailsAfterTheAttempts() async throws {
        let server = try TestHTTPServer { _, _ in .file(Self.payload, stallAfter: 10) }
        let policy = DownloadPolicy(attempts: 2, initialDelay: .milliseconds(10), stallTimeout: .milliseconds(500))
        let error = await expectFailure(.ModelDownloadFailed) { _ = try await download(server.base + "/m.gguf", policy: policy) }
        #expect(error?.message.contains("stalled") == true, "\(String(describing: error))")
        #expect(error?.message.contains("gave up after 2 attempts") == true)
        #expect(contents("m.gguf") == nil, "a truncated file is never renamed into place")
    }

    @Test func wrongBytesAreAChecksumMismatchAndNothingIsLeft() async throws {
        var wrong = Self.payload
        wrong[1234] ^= 0xFF
        let server = try TestHTTPServer { [wrong] _, _ in .file(wrong) }
        let error = await expectFailure(.ChecksumMismatch) { _ = try await download(server.base + "/m.gguf") }
        let actual = Self.hex(SHA256.hash(data: wrong))
        #expect(error?.message.contains(actual) == true && error?.message.contains(Self.digest) == true, "both digests: \(String(describing: error))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "no file and no .partial left")
        #expect(server.requests.count == 1, "a mismatch is final, not retried")
    }

    @Test func redirectsAreFollowed() async throws {
        let server = try TestHTTPServer { request, _ in
            request.path == "/old" ? .redirect("/files/m.gguf") : .file(Self.payload)
        }
        #expect(try await download(server.base + "/old") == Self.digest)
        #expect(server.requests.map(\.path) == ["/old", "/files/m.gguf"])
    }

    @Test func notFoundFailsAtOnceWithTheStatus() async throws {
        let server = try TestHTTPServer { _, _ in .status(404, body: "no such file") }
        let error = await expectFailure(.ModelDownloadFailed) { _ = try await download(server.base + "/missing.gguf") }
        #expect(error?.message.contains("HTTP 404") == true, "\(String(describing: error))")
        #expect(server.requests.count == 1, "a 404 is not retried")
    }

    @Test func aServerErrorIsRetried() async throws {
        let server = try TestHTTPServer { _, n in n == 0 ? .status(503) : .file(Self.payload) }
        #expect(try await download(server.base + "/m.gguf") == Self.digest)
        #expect(server.requests.count == 2)
    }

    @Test func aFileLargerThanTheFreeSpaceIsInsufficientStorage() async throws {
        let free = try #require(DiskSpace.available(at: dir))
        // The announced length alone decides, before any byte is written.
        let liar = try TestHTTPServer { _, _ in
            .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: \(free + 1_000_000_000_000)\r\nConnection: close\r\n\r\n".utf8))
        }
        let error = await expectFailure(.InsufficientStorage) { _ = try await download(liar.base + "/m.gguf", sha256: nil) }
        #expect(error?.message.contains("bytes free") == true, "\(String(describing: error))")
        #expect(liar.requests.count == 1, "a full disk is not retried")
    }

    @Test func entriesSharingAModelDownloadItOnceAndAStoreFileIsReusedOffline() async throws {
        let server = try TestHTTPServer { _, _ in .file(Self.payload, stallAfter: nil) }
        let store = ModelStore(directory: dir)
        let fetcher = ModelFetcher(store: store, policy: Self.policy, proxies: ProxySettings(environment: [:]), logger: Logger(label: "test"))
        let url = server.base + "/m.gguf"
        let fetch = ModelFetch.file(url: url, headers: [], destination: store.path(forURL: url), sha256: Self.digest)
        async let a: Void = fetcher.ensure(fetch) { _ in }
        async let b: Void = fetcher.ensure(fetch) { _ in }
        _ = try await (a, b)
        #expect(server.requests.count == 1, "one download for both entries")
        #expect(FileManager.default.contents(atPath: store.path(forURL: url)).map { [UInt8]($0) } == Self.payload)
        #expect(await fetcher.cachedDigest(of: store.path(forURL: url)) == Self.digest, "verified while downloading: not hashed again")
        server.stop()
        // Offline: the server is gone, the store file is used as it is (and its digest is remembered).
        try await fetcher.ensure(fetch) { _ in }
        #expect(server.requests.count == 1)
    }

    @Test func cancellingTheLastWaiterStopsTheDownloadAndKeepsThePartial() async throws {
        let server = try TestHTTPServer { _, _ in .file(Self.payload, stallAfter: 70_000) }
        let store = ModelStore(directory: dir)
        let policy = DownloadPolicy(attempts: 3, initialDelay: .milliseconds(50), stallTimeout: .seconds(600))
        let fetcher = ModelFetcher(store: store, policy: policy, proxies: ProxySettings(environment: [:]), logger: Logger(label: "test"))
        let url = server.base + "/m.gguf"
        let destination = store.path(forURL: url)
        let fetch = ModelFetch.file(url: url, headers: [], destination: destination, sha256: Self.digest)
        let task = Task { try await fetcher.ensure(fetch) { _ in } }
        let clock = ContinuousClock()
        var end = clock.now + .seconds(60)
        while ModelDownloader.size(of: destination + ".partial") != 70_000 && clock.now < end { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        end = clock.now + .seconds(60)
        while ModelDownloader.size(of: destination + ".partial") != 70_000 && clock.now < end { try await Task.sleep(for: .milliseconds(50)) }
        #expect(ModelDownloader.size(of: destination + ".partial") == 70_000, "the .partial stays for a resume")
        #expect(!FileManager.default.fileExists(atPath: destination))
    }

    @Test func localChecksumsAreRememberedByPathSizeMtimeAndInode() async throws {
        let path = dir + "/local.gguf"
        try Data(Self.payload).write(to: URL(fileURLWithPath: path))
        let store = ModelStore(directory: dir + "/store")
        let fetcher = ModelFetcher(store: store, policy: Self.policy, proxies: ProxySettings(environment: [:]), logger: Logger(label: "test"))
        #expect(await fetcher.cachedDigest(of: path) == nil)
        try await fetcher.ensure(.verify(path: path, sha256: Self.digest)) { _ in }
        #expect(await fetcher.cachedDigest(of: path) == Self.digest)
        // A new fetcher (an agent restart) reads the remembered digest from the store.
        let restarted = ModelFetcher(store: store, policy: Self.policy, proxies: ProxySettings(environment: [:]), logger: Logger(label: "test"))
        #expect(await restarted.cachedDigest(of: path) == Self.digest)
        // The file changes (new inode, same size): it is hashed again, and the mismatch is found.
        var changed = Self.payload
        changed[0] ^= 1
        try Data(changed).write(to: URL(fileURLWithPath: path), options: .atomic)
        #expect(await restarted.cachedDigest(of: path) == nil)
        let error = await expectFailure(.ChecksumMismatch) { try await restarted.ensure(.verify(path: path, sha256: Self.digest)) { _ in } }
        #expect(error?.message.contains(Self.hex(SHA256.hash(data: changed))) == true)
    }

    @Test func aHuggingFaceFileComesFromHFEndpointWithTheToken() async throws {
        let server = try TestHTTPServer { request, _ in
            request.path == "/acme/tiny-GGUF/resolve/main/tiny.gguf" ? .file(Self.payload) : .status(404)
        }
        let model = Model(name: "m", source: try ModelSource.parse("hf://acme/tiny-GGUF/tiny.gguf", folder: "/"), format: .gguf, sha256: Self.digest)
        let store = ModelStore(directory: dir)
        let location = try ModelLocation.resolve(model, store: store, environment: ["HF_ENDPOINT": server.base + "/", "HF_TOKEN": "hf_secret"]).get()
        let fetcher = ModelFetcher(store: store, policy: Self.policy, proxies: ProxySettings(environment: [:]), logger: Logger(label: "test"))
        try await fetcher.ensure(try #require(location.fetch)) { _ in }
        #expect(FileManager.default.contents(atPath: location.path).map { [UInt8]($0) } == Self.payload)
        #expect(server.requests.first?.headers["authorization"] == "Bearer hf_secret")
    }

    @Test func aHuggingFaceRepositoryIsListedAndFetchedIntoOneFolder() async throws {
        let weights = Array(Self.payload.prefix(200_000))
        let files: [String: [UInt8]] = [
            "config.json": Array(#"{"model_type": "llama"}"#.utf8),
            "model.safetensors": weights,
            "tokenizer/tokenizer.json": Array("{}".utf8),
        ]
        let listing = """
            {"id": "acme/tiny-mlx", "siblings": [
              {"rfilename": ".gitattributes", "size": 10},
              {"rfilename": "config.json", "size": \(files["config.json"]!.count)},
              {"rfilename": "model.safetensors", "size": \(weights.count), "lfs": {"sha256": "\(Self.hex(SHA256.hash(data: weights)))", "size": \(weights.count)}},
              {"rfilename": "tokenizer/tokenizer.json"}
            ]}
            """
        let server = try TestHTTPServer { request, _ in
            if request.path == "/api/models/acme/tiny-mlx/revision/v2?blobs=true" { return .status(200, body: listing) }
            let prefix = "/acme/tiny-mlx/resolve/v2/"
            if request.path.hasPrefix(prefix), let bytes = files[String(request.path.dropFirst(prefix.count))] { return .file(bytes) }
            return .status(404)
        }
        let model = Model(name: "m", source: try ModelSource.parse("hf://acme/tiny-mlx@v2", folder: "/"), format: .mlx)
        let store = ModelStore(directory: dir)
        let location = try ModelLocation.resolve(model, store: store, environment: ["HF_ENDPOINT": server.base]).get()
        let fetcher = ModelFetcher(store: store, policy: Self.policy, proxies: ProxySettings(environment: [:]), logger: Logger(label: "test"))
        try await fetcher.ensure(try #require(location.fetch)) { _ in }
        for (name, bytes) in files {
            #expect(FileManager.default.contents(atPath: location.path + "/" + name).map { [UInt8]($0) } == bytes, "\(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: location.path + "/.gitattributes"))
        #expect(!FileManager.default.fileExists(atPath: location.path + ".partial"))
    }

    @Test func downloadsGoThroughHTTPProxyUnlessNoProxySaysOtherwise() async throws {
        // The "proxy" opens a tunnel (AsyncHTTPClient sends CONNECT for http and https alike) and then
        // plays the origin, a TEST-NET-2 address (RFC 5737) that is never reached: everything stays on 127.0.0.1.
        let proxy = try TestHTTPServer { request, _ in
            switch (request.method, request.path) {
            case ("CONNECT", "198.51.100.7:80"): .tunnel
            case ("GET", "/m.gguf"): .file(Self.payload)
            default: .status(404)
            }
        }
        let viaProxy = ModelDownloader(policy: Self.policy, proxies: ProxySettings(environment: ["HTTP_PROXY": proxy.base]), logger: Logger(label: "test"))
        #expect(
            try await viaProxy.download(.init(url: "http://198.51.100.7/m.gguf", destination: dir + "/p.gguf", sha256: Self.digest)) { _ in } == Self.digest)
        #expect(proxy.requests.map { "\($0.method) \($0.path)" } == ["CONNECT 198.51.100.7:80", "GET /m.gguf"])
        // NO_PROXY: the origin (a local server) is reached directly; the proxy sees nothing more.
        let origin = try TestHTTPServer { _, _ in .file(Self.payload) }
        let direct = ModelDownloader(
            policy: Self.policy, proxies: ProxySettings(environment: ["HTTP_PROXY": proxy.base, "NO_PROXY": "127.0.0.1"]), logger: Logger(label: "test"))
        #expect(try await direct.download(.init(url: origin.base + "/m.gguf", destination: dir + "/d.gguf", sha256: Self.digest)) { _ in } == Self.digest)
        #expect(proxy.requests.count == 2 && origin.requests.count == 1)
    }

    @Test func aProxyThatRefusesTheTunnelFailsTheDownload() async throws {
        let proxy = try TestHTTPServer { _, _ in .status(403, body: "forbidden") }
        let viaProxy = ModelDownloader(
            policy: DownloadPolicy(attempts: 2, initialDelay: .milliseconds(10), stallTimeout: .seconds(2), connectTimeout: .seconds(2)),
            proxies: ProxySettings(environment: ["HTTP_PROXY": proxy.base]), logger: Logger(label: "test"))
        let error = await expectFailure(.ModelDownloadFailed) {
            _ = try await viaProxy.download(.init(url: "http://198.51.100.7/m.gguf", destination: dir + "/p.gguf", sha256: nil)) { _ in }
        }
        #expect(error?.message.contains("gave up after 2 attempts") == true, "\(String(describing: error))")
    }

    @Test func aServerThatIsDownFailsAfterTheAttemptsInsteadOfWaitingForever() async throws {
        let gone = try TestHTTPServer { _, _ in .status(200) }
        let url = gone.base + "/m.gguf"
        gone.stop()
        let policy = DownloadPolicy(attempts: 2, initialDelay: .milliseconds(10), stallTimeout: .seconds(2), connectTimeout: .seconds(2))
        _ = await expectFailure(.ModelDownloadFailed) { _ = try await download(url, policy: policy) }
        #expect(contents("m.gguf") == nil)
    }

    @Test func proxiesComeFromTheEnvironmentAndNoProxyExcludesHosts() {
        let proxies = ProxySettings(environment: [
            "HTTPS_PROXY": "http://proxy.corp:3128", "http_proxy": "proxy.corp", "NO_PROXY": "localhost,.internal, 127.0.0.1",
        ])
        #expect(proxies.server(scheme: "https", host: "huggingface.co") == .init(host: "proxy.corp", port: 3128))
        #expect(proxies.server(scheme: "http", host: "example.com") == .init(host: "proxy.corp", port: 80))
        #expect(proxies.server(scheme: "https", host: "models.internal") == nil)
        #expect(proxies.server(scheme: "http", host: "127.0.0.1") == nil)
        #expect(ProxySettings(environment: [:]).server(scheme: "https", host: "x") == nil)
    }
}
