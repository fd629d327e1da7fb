import Executors
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `HTTPProbe`s against runtimes: one plain HTTP/1.1 request per probe on a non-blocking socket,
/// every probe of every entry on one shared `poll(2)` loop (`ProbeLoop`).
///
/// Why not an HTTP client library: a probe goes to a runtime on this machine's own address, so it must
/// never go through a proxy, whatever `http_proxy`/`ALL_PROXY` the agent inherited (a client library
/// honours them), and it runs every few seconds for every entry, so it must cost next to nothing
/// (URLSession cost about 4 ms of CPU per probe; this costs tens of microseconds). The request is
/// `Connection: close`; the response's status line decides, and up to 4 KiB of its body for probes
/// that look into it.
struct HTTPProber: Sendable {
    /// Outcome of one probe.
    enum Outcome: Sendable, Hashable, CustomStringConvertible {
        case success
        /// The server answered, but not as the probe wants (status, and the start of the body).
        case failure(status: Int, body: String)
        /// No answer: connection refused, timeout, reset.
        case unreachable(String)

        var passed: Bool { self == .success }

        var description: String {
            switch self {
            case .success: "success"
            case .failure(let status, let body): "HTTP \(status) \(body)"
            case .unreachable(let why): why
            }
        }
    }

    /// Most body bytes read from one answer (enough for any probe's `bodyContains`).
    static let maxBody = 4096

    private let loop: ProbeLoop

    init(loop: ProbeLoop = .shared) {
        self.loop = loop
    }

    /// One request to `endpoint + probe.path` (`endpoint` is `http://HOST:PORT` with an IP address),
    /// bounded by `probe.timeoutSeconds` (connect, send and receive together). Cancelling the caller
    /// ends the wait at once with `.unreachable("cancelled")` and closes the connection.
    func check(_ probe: HTTPProbe, endpoint: String) async -> Outcome {
        guard let address = SocketAddress(endpoint: endpoint) else { return .unreachable("bad endpoint \(endpoint)") }
        var head = "\(probe.method) \(probe.path) HTTP/1.1\r\nHost: \(address.hostHeader)\r\nUser-Agent: metal-agent-probe\r\nAccept: */*\r\nConnection: close\r\n"
        let body = probe.body.map { Array($0.utf8) } ?? []
        if probe.body != nil {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        let request = Array((head + "\r\n").utf8) + body
        let response = await loop.exchange(request, with: address, timeout: .milliseconds(Int64(probe.timeoutSeconds * 1000)))
        switch response {
        case .failure(let why):
            return .unreachable(why.message)
        case .success(let (status, bodyText)):
            return probe.accepts(status: status, body: bodyText) ? .success : .failure(status: status, body: String(bodyText.prefix(200)))
        }
    }
}

/// A numeric socket address (IPv4 or IPv6) parsed from `http://HOST:PORT`.
struct SocketAddress: Sendable {
    var family: Int32
    /// `sockaddr_in` or `sockaddr_in6` bytes.
    var bytes: [UInt8]
    var hostHeader: String

    init?(endpoint: String) {
        guard endpoint.hasPrefix("http://") else { return nil }
        let rest = endpoint.dropFirst("http://".count)
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(after: close)...].drop { $0 == ":" }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            return nil
        }
        guard let port = UInt16(portText.prefix { $0 != "/" }) else { return nil }
        hostHeader = rest.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, String(host), &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            family = AF_INET
            bytes = withUnsafeBytes(of: v4) { Array($0) }
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, String(host), &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            family = AF_INET6
            bytes = withUnsafeBytes(of: v6) { Array($0) }
            return
        }
        return nil
    }
}

/// One thread with one `poll(2)` loop that carries out every probe's exchange: connect, send the
/// request, read the response until the server closes or the body (by `Content-Length` or chunked
/// framing, `ResponseReader`) is complete, or the deadline passes. Submissions and cancellations wake it through a pipe.
final class ProbeLoop: Sendable {
    /// The agent's one loop, started on first use.
    static let shared = ProbeLoop()

    typealias Response = Result<(status: Int, body: String), ProbeError>
    struct ProbeError: Error, Sendable { var message: String }

    private struct Exchange {
        var id: UInt64
        var fd: Int32 = -1
        var address: SocketAddress
        var request: [UInt8]
        var sent = 0
        var response = ResponseReader()
        var connected = false
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Response, Never>
    }

    private struct State {
        var nextID: UInt64 = 0
        var submitted: [Exchange] = []
        var cancelled: Set<UInt64> = []
        var started = false
    }

    private let state = Mutex(State())
    /// Read end and write end of the wake-up pipe.
    private let wake: (read: Int32, write: Int32)

    init() {
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wake = (fds[0], fds[1])
    }

    /// Sends `request` to `address` and returns the response's status and (up to 4 KiB of) body.
    func exchange(_ request: [UInt8], with address: SocketAddress, timeout: Duration) async -> Response {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let startThread = state.withLock { s -> Bool in
                    s.submitted.append(Exchange(
                        id: id, address: address, request: request, deadline: .now + timeout, continuation: continuation))
                    defer { s.started = true }
                    return !s.started
                }
                if startThread {
                    let thread = Thread { [self] in run() }
                    thread.name = "metal-agent probes"
                    thread.start()
                }
                poke()
            }
        } onCancel: {
            state.withLock { _ = $0.cancelled.insert(id) }
            poke()
        }
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)  // a full pipe already means "wake up"
    }

    /// The loop; runs for the life of the process.
    private func run() {
        var active: [Exchange] = []
        var drain = [UInt8](repeating: 0, count: 64)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let (new, cancelled) = state.withLock { s -> ([Exchange], Set<UInt64>) in
                defer { s.submitted = []; s.cancelled = [] }
                return (s.submitted, s.cancelled)
            }
            for var exchange in new {
                if let error = open(&exchange) {
                    exchange.continuation.resume(returning: .failure(error))
                } else {
                    active.append(exchange)
                }
            }
            let now = ContinuousClock.now
            active.removeAll { exchange in
                if cancelled.contains(exchange.id) {
                    finish(exchange, .failure(ProbeError(message: "cancelled")))
                    return true
                }
                if now >= exchange.deadline {
                    finish(exchange, .failure(ProbeError(message: exchange.connected ? "timed out waiting for the response" : "timed out connecting")))
                    return true
                }
                return false
            }

            var fds = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            for exchange in active {
                let wantsWrite = !exchange.connected || exchange.sent < exchange.request.count
                fds.append(pollfd(fd: exchange.fd, events: Int16(wantsWrite ? POLLOUT : POLLIN), revents: 0))
            }
            var timeout: Int32 = -1
            if let soonest = active.map(\.deadline).min() {
                let left = soonest - .now
                timeout = max(0, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1)
            }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { continue }
            if fds[0].revents != 0 { while read(wake.read, &drain, drain.count) > 0 {} }

            var finished: Set<UInt64> = []
            for index in active.indices where fds[index + 1].revents != 0 {
                if let response = step(&active[index], revents: fds[index + 1].revents, buffer: &buffer) {
                    finish(active[index], response)
                    finished.insert(active[index].id)
                }
            }
            if !finished.isEmpty { active.removeAll { finished.contains($0.id) } }
        }
    }

    /// Opens a non-blocking socket and starts connecting; an error when that fails at once.
    private func open(_ exchange: inout Exchange) -> ProbeError? {
        let fd = socket(exchange.address.family, Int32(SOCK_STREAM_TYPE), 0)
        guard fd >= 0 else { return ProbeError(message: "socket: \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        disableSIGPIPE(fd)
        exchange.fd = fd
        let rc = exchange.address.bytes.withUnsafeBytes {
            connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        if rc == 0 {
            exchange.connected = true
        } else if errno != EINPROGRESS {
            let message = String(cString: strerror(errno))
            close(fd)
            return ProbeError(message: "connect: \(message)")
        }
        return nil
    }

    /// Advances one exchange after `poll` reported `revents`; the response once it is complete.
    private func step(_ exchange: inout Exchange, revents: Int16, buffer: inout [UInt8]) -> Response? {
        if !exchange.connected {
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(exchange.fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 { return .failure(ProbeError(message: "connect: \(String(cString: strerror(error)))")) }
            exchange.connected = true
        }
        if exchange.sent < exchange.request.count {
            let n = exchange.request[exchange.sent...].withUnsafeBytes { send(exchange.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL_FLAG)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { return nil }
                return .failure(ProbeError(message: "send: \(String(cString: strerror(errno)))"))
            }
            exchange.sent += n
            return nil
        }
        let n = buffer.withUnsafeMutableBytes { recv(exchange.fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return nil }
            return .failure(ProbeError(message: "recv: \(String(cString: strerror(errno)))"))
        }
        if n > 0 {
            exchange.response.add(buffer[..<n])
        } else {
            exchange.response.endOfStream()  // closed by the server: whatever arrived is the answer
        }
        guard exchange.response.isComplete else { return nil }
        if let error = exchange.response.error { return .failure(ProbeError(message: error)) }
        guard let status = exchange.response.status else {
            return .failure(ProbeError(message: n == 0 && exchange.sent > 0 ? "connection closed without a response" : "not an HTTP response"))
        }
        let body = exchange.response.body.prefix(HTTPProber.maxBody)
        return .success((status, String(decoding: body, as: UTF8.self)))
    }

    private func finish(_ exchange: Exchange, _ response: Response) {
        if exchange.fd >= 0 { close(exchange.fd) }
        exchange.continuation.resume(returning: response)
    }
}

/// Parses an HTTP/1.x response incrementally: status line, headers, then a body framed by
/// `Content-Length`, `chunked`, or the end of the stream; stops once `HTTPProber.maxBody` body bytes are in.
struct ResponseReader {
    private var head: [UInt8] = []
    private var raw: [UInt8] = []  // body bytes as sent (still chunk-framed when chunked)
    private(set) var status: Int?
    private(set) var error: String?
    private var contentLength: Int?
    private var chunked = false
    private var headDone = false
    private var ended = false

    /// The body read so far (chunk framing removed).
    var body: [UInt8] { chunked ? Self.unchunk(raw).bytes : raw }

    /// True once the whole answer (or enough of it) is in.
    var isComplete: Bool {
        if ended || error != nil { return true }
        guard headDone else { return false }
        if raw.count >= HTTPProber.maxBody + 64 { return true }
        if chunked { return Self.unchunk(raw).complete || body.count >= HTTPProber.maxBody }
        if let contentLength { return raw.count >= contentLength }
        return false
    }

    mutating func endOfStream() { ended = true }

    mutating func add(_ bytes: ArraySlice<UInt8>) {
        if headDone {
            raw += bytes
            return
        }
        head += bytes
        guard let end = Self.find([13, 10, 13, 10], in: head) else {
            if head.count > 65536 { error = "headers too long" }
            return
        }
        raw = Array(head[(end + 4)...])
        let lines = String(decoding: head[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        headDone = true
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
            error = "not an HTTP status line: \(lines.first ?? "")"
            return
        }
        status = code
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { contentLength = Int(value) }
            if name == "transfer-encoding", value.lowercased().contains("chunked") { chunked = true }
        }
        if status == 204 || status == 304 || (100..<200).contains(code) { contentLength = 0 }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    /// Removes chunk framing; `complete` once the last (zero-size) chunk was seen.
    private static func unchunk(_ raw: [UInt8]) -> (bytes: [UInt8], complete: Bool) {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find([13, 10], in: Array(raw[i...])).map({ $0 + i }) else { return (out, false) }
            let sizeText = String(decoding: raw[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return (out, true) }
            if size == 0 { return (out, true) }
            let start = lineEnd + 2
            let available = min(size, raw.count - start)
            out += raw[start..<(start + max(available, 0))]
            if available < size { return (out, false) }
            i = start + size + 2
            if i > raw.count { return (out, false) }
        }
    }
}
