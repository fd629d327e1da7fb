import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for download tests: serves bytes with `Range`
/// support, and can drop the connection or stall part-way, redirect, or answer any status. One thread per
/// connection; every connection is closed after one response. Nothing leaves the machine.
///
/// `@unchecked Sendable`: the mutable state (`log`, `stopped`) is only touched under `lock`; the socket fd
/// and handler are immutable after `init`.
final class TestHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        /// Header names lower-cased.
        var headers: [String: String]
    }

    enum Reply: Sendable {
        /// The bytes of a file, honouring `Range: bytes=N-`; optionally the connection is closed after
        /// `dropAfter` body bytes, or goes silent (kept open) after `stallAfter` body bytes.
        case file([UInt8], dropAfter: Int? = nil, stallAfter: Int? = nil)
        /// A status with a body.
        case status(Int, body: String = "", headers: [(String, String)] = [])
        /// `302 Found` to `location` (a path on this server or a full URL).
        case redirect(String)
        /// These bytes as they are (status line and headers included), then the connection closes.
        case raw([UInt8])
        /// `200 Connection Established` to a `CONNECT` (an HTTP proxy's tunnel); the next request on the
        /// same connection is then handled as if it came directly.
        case tunnel
    }

    let port: Int
    private let fd: Int32
    private let handler: @Sendable (Request, Int) -> Reply
    private let lock = NSLock()
    private var log: [Request] = []
    private var stopped = false
    private var released = false

    /// Starts listening; `handler` gets each request and its 0-based number.
    init(_ handler: @escaping @Sendable (Request, Int) -> Reply) throws {
        self.handler = handler
        let listener = try LoopbackListener(backlog: 64)
        self.fd = listener.fd
        self.port = listener.port
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// `http://127.0.0.1:PORT`.
    var base: String { "http://127.0.0.1:\(port)" }

    /// Every request so far.
    var requests: [Request] { lock.withLock { log } }

    var isStopped: Bool { lock.withLock { stopped } }

    /// Ends every stall now and from now on: a stalled connection is closed (the client sees it end early).
    func releaseStalls() { lock.withLock { released = true } }

    private var stallsReleased: Bool { lock.withLock { released || stopped } }

    /// Stops accepting; stalled connections end within 100 ms.
    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        if first {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    private func acceptLoop() {
        while !isStopped {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        respond(client)
    }

    private func respond(_ client: Int32) {
        guard let request = readRequest(client) else { return }
        let number = lock.withLock { () -> Int in
            log.append(request)
            return log.count - 1
        }
        switch handler(request, number) {
        case .status(let code, let body, let headers):
            var head =
                "HTTP/1.1 \(code) \(code == 404 ? "Not Found" : code == 200 ? "OK" : "Status")\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            send(client, Array((head + "\r\n" + body).utf8))
        case .raw(let bytes):
            send(client, bytes)
        case .tunnel:
            send(client, Array("HTTP/1.1 200 Connection Established\r\n\r\n".utf8))
            respond(client)
        case .redirect(let location):
            send(client, Array("HTTP/1.1 302 Found\r\nLocation: \(location)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
        case .file(let bytes, let dropAfter, let stallAfter):
            var start = 0
            var head: String
            if let range = request.headers["range"], range.hasPrefix("bytes="), let from = Int(range.dropFirst(6).prefix { $0 != "-" }) {
                if from >= bytes.count {
                    send(
                        client,
                        Array(
                            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */\(bytes.count)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8
                        ))
                    return
                }
                start = from
                head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes \(from)-\(bytes.count - 1)/\(bytes.count)\r\n"
            } else {
                head = "HTTP/1.1 200 OK\r\n"
            }
            head += "Content-Length: \(bytes.count - start)\r\nConnection: close\r\n\r\n"
            send(client, Array(head.utf8))
            let body = Array(bytes[start...])
            if let dropAfter {
                send(client, Array(body.prefix(dropAfter)))
                // Close our side only, then wait for the client to notice: every byte sent arrives (a close
                // with unread input would reset the connection and lose bytes still in flight).
                shutdown(client, Int32(SHUT_WR))
                var scratch = [UInt8](repeating: 0, count: 512)
                var pfd = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
                while !isStopped {
                    if poll(&pfd, 1, 100) > 0, recv(client, &scratch, scratch.count, 0) <= 0 { break }
                }
                return
            }
            if let stallAfter, !stallsReleased {
                send(client, Array(body.prefix(stallAfter)))
                // Silent, but open, until the client gives up, or the server stops or releases stalls.
                var pfd = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
                while !stallsReleased {
                    if poll(&pfd, 1, 100) > 0 {
                        var scratch = [UInt8](repeating: 0, count: 512)
                        if recv(client, &scratch, scratch.count, 0) <= 0 { return }
                    }
                }
                return
            }
            send(client, body)
        }
    }

    private func readRequest(_ client: Int32) -> Request? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !data.ends(with: Array("\r\n\r\n".utf8)) {
            let n = recv(client, &buffer, buffer.count, 0)
            if n <= 0 { return nil }
            data += buffer[0..<n]
            if data.count > 65536 { return nil }
        }
        let lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\r\n")
        let first = lines[0].split(separator: " ")
        guard first.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Request(method: String(first[0]), path: String(first[1]), headers: headers)
    }

    private func send(_ client: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            #if os(Linux)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let n = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress! + sent, bytes.count - sent, flags) }
            if n <= 0 { return }
            sent += n
        }
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
