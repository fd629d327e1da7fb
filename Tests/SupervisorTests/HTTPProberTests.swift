import Executors
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Supervisor

#if canImport(Glibc)
import Glibc
#endif

/// The probe client against real sockets on 127.0.0.1: servers that answer, refuse, stay silent, keep
/// the connection open, and many probes at once on the shared loop.
@Suite struct HTTPProberTests {
    let prober = HTTPProber()

    @Test func aSuccessAndAFailureWithTheRequestAsSent() async throws {
        let server = try TinyServer { _ in "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 7\r\n\r\nloading" }
        let outcome = await prober.check(HTTPProbe(path: "/health"), endpoint: "http://127.0.0.1:\(server.port)")
        #expect(outcome == .failure(status: 503, body: "loading"))
        let request = try #require(server.requests.first)
        #expect(request.hasPrefix("GET /health HTTP/1.1\r\n"))
        #expect(request.contains("Host: 127.0.0.1:\(server.port)\r\n") && request.contains("Connection: close\r\n"))

        let ok = try TinyServer { _ in "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}" }
        #expect(await prober.check(HTTPProbe(path: "/health"), endpoint: "http://127.0.0.1:\(ok.port)") == .success)
    }

    @Test func aPostCarriesItsJSONBodyAndTheResponseBodyIsChecked() async throws {
        let server = try TinyServer { request in
            let body = request.contains("\r\n\r\n{\"prompt\":\"hi\"}") && request.contains("Content-Type: application/json") ? "{\"model\":\"tiny\"}" : "{}"
            return "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        let probe = HTTPProbe(path: "/v1/completions", method: "POST", body: "{\"prompt\":\"hi\"}", bodyContains: "tiny")
        #expect(await prober.check(probe, endpoint: "http://127.0.0.1:\(server.port)") == .success)
        let wrong = HTTPProbe(path: "/v1/completions", method: "POST", body: "{}", bodyContains: "tiny")
        #expect(await prober.check(wrong, endpoint: "http://127.0.0.1:\(server.port)") == .failure(status: 200, body: "{}"))
    }

    @Test func aServerThatKeepsTheConnectionOpenAfterACompleteResponseIsNotWaitedFor() async throws {
        let server = try TinyServer(keepOpen: true) { _ in "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" }
        // A 60 s timeout: had the probe waited for the close, this would hang far past the deadline below.
        let probe = HTTPProbe(path: "/health", timeout: .seconds(60))
        let result = try await withDeadline(.seconds(30)) { await prober.check(probe, endpoint: "http://127.0.0.1:\(server.port)") }
        #expect(result == .success)
    }

    @Test func refusedAndSilentServersAreUnreachable() async throws {
        let closed = try LoopbackListener(backlog: 512)
        let port = closed.port
        closed.close()
        // On the quiet loopback address: a server another test starts on the recycled port cannot answer.
        let refused = await prober.check(HTTPProbe(path: "/health"), endpoint: "http://\(BackoffClockTests.quietLoopback):\(port)")
        #expect(refused == .unreachable("connect: Connection refused"))

        let silent = try LoopbackListener(backlog: 512)  // accepts connections (backlog) but never answers
        defer { silent.close() }
        // 2 s: on a loaded machine the connect alone once took longer than a shorter timeout.
        let timedOut = await prober.check(HTTPProbe(path: "/health", timeout: .seconds(2)), endpoint: "http://127.0.0.1:\(silent.port)")
        #expect(timedOut == .unreachable("timed out waiting for the response"))
        #expect(await prober.check(HTTPProbe(path: "/health"), endpoint: "http://not-an-ip:80") == .unreachable("bad endpoint http://not-an-ip:80"))
    }

    @Test func cancellingTheCallerEndsTheWaitAtOnce() async throws {
        let silent = try LoopbackListener(backlog: 512)
        defer { silent.close() }
        let probe = HTTPProbe(path: "/health", timeout: .seconds(3600))
        let task = Task { await prober.check(probe, endpoint: "http://127.0.0.1:\(silent.port)") }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let result = try await withDeadline(.seconds(30)) { await task.value }
        #expect(result == .unreachable("cancelled"))
    }

    @Test func manyProbesAtOnceShareTheLoop() async throws {
        let server = try TinyServer { _ in "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" }
        let outcomes = await withTaskGroup(of: HTTPProber.Outcome.self) { group in
            for _ in 0..<200 {
                group.addTask { await prober.check(HTTPProbe(path: "/health", timeout: .seconds(60)), endpoint: "http://127.0.0.1:\(server.port)") }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.count == 200 && outcomes.allSatisfy { $0 == .success })
    }

    @Test func endpointsParseIPv4AndIPv6() throws {
        #expect(SocketAddress(endpoint: "http://127.0.0.1:8080")?.hostHeader == "127.0.0.1:8080")
        #expect(SocketAddress(endpoint: "http://[::1]:8080")?.hostHeader == "[::1]:8080")
        #expect(SocketAddress(endpoint: "http://[::1]:8080")?.family == AF_INET6)
        #expect(SocketAddress(endpoint: "https://127.0.0.1:8080") == nil)
        #expect(SocketAddress(endpoint: "http://127.0.0.1") == nil)
    }
}

/// Runs `body`, failing if it takes longer than `limit` (a hang guard, not a timing assertion).
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw POSIXError(.ETIMEDOUT)
        }
        group.cancelAll()
        return value
    }
}

/// A one-thread HTTP responder: reads each request's head (and `Content-Length` body), answers with
/// `respond(request)`, then closes (or keeps the connection open when `keepOpen`). Records requests.
/// Its thread ends when the server is released (the listening socket closes).
final class TinyServer: Sendable {
    /// The requests received, guarded by a lock.
    final class Recorder: Sendable {
        private let requests = Mutex<[String]>([])
        func add(_ request: String) { requests.withLock { $0.append(request) } }
        var all: [String] { requests.withLock { $0 } }
    }

    private let listener: LoopbackListener
    private let recorder = Recorder()
    var port: Int { listener.port }
    var requests: [String] { recorder.all }

    init(keepOpen: Bool = false, respond: @escaping @Sendable (String) -> String) throws {
        listener = try LoopbackListener(backlog: 512)
        let fd = listener.fd
        let recorder = self.recorder
        let thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                let request = Self.readRequest(client)
                recorder.add(request)
                let answer = Array(respond(request).utf8)
                _ = answer.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                if !keepOpen { Glibc.close(client) }
            }
        }
        thread.start()
    }

    deinit { listener.close() }

    private static func readRequest(_ client: Int32) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { break }
            data += buffer[..<n]
            let text = String(decoding: data, as: UTF8.self)
            if let range = text.range(of: "\r\n\r\n") {
                let head = text[..<range.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text[range.upperBound...].utf8.count >= length { break }
            }
        }
        return String(decoding: data, as: UTF8.self)
    }
}
