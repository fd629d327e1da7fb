import Dispatch
import Executors
import Foundation
import Synchronization

/// Runs `HTTPProbe`s against a runtime over real HTTP/1.1, on a plain TCP connection to the runtime's
/// own address.
///
/// Probes talk to the agent's own children, so nothing the agent inherits may change where they go.
/// Field report: with `http_proxy` or `ALL_PROXY` set (lowercase, as shells export them), Foundation's
/// `URLSession` (libcurl on Linux) sent the probes to `127.0.0.1` through the proxy; with a dead proxy
/// every entry timed out and crash-looped while its runtime answered fine. libcurl also reads
/// `HTTPS_PROXY`, `NO_PROXY`, `CURL_CA_BUNDLE`, and on macOS `URLSession` follows the system proxy
/// settings. This client reads none of them: it connects to the endpoint's address and port itself.
/// (Traffic meant for the outside is the runtimes' own, e.g. a model download; they inherit the
/// proxy variables unchanged and apply them as their HTTP libraries do.)
///
/// One request per connection (`Connection: close`); the body is read up to 4 KiB (enough for any
/// probe's `bodyContains`), `Content-Length` and chunked bodies both understood. The blocking socket
/// calls run on a Dispatch thread, never on one of Swift's few cooperative threads.
struct HTTPProber: Sendable {
    /// Outcome of one probe.
    enum Outcome: Sendable, Hashable {
        case success
        /// The server answered, but not as the probe wants (status, and the start of the body).
        case failure(status: Int, body: String)
        /// No answer: connection refused, timeout, reset.
        case unreachable(String)

        var passed: Bool { self == .success }
    }

    /// Most body bytes read from one answer.
    static let maxBody = 4096

    init() {}

    /// One request to `endpoint + probe.path`, bounded by `probe.timeoutSeconds`.
    ///
    /// A cancelled caller stops waiting at once (`.unreachable("cancelled")`); the request itself ends
    /// by its timeout or with the process it probes.
    func check(_ probe: HTTPProbe, endpoint: String) async -> Outcome {
        guard let (host, port) = Self.hostAndPort(endpoint) else { return .unreachable("bad endpoint \(endpoint)") }
        let box = OutcomeBox()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                guard box.install(continuation) else { return }
                DispatchQueue.global().async {
                    box.finish(Self.exchange(probe, host: host, port: port))
                }
            }
        } onCancel: {
            box.finish(.unreachable("cancelled"))
        }
    }

    /// `http://host:port` or `http://[v6]:port` -> (host, port).
    static func hostAndPort(_ endpoint: String) -> (String, UInt16)? {
        guard endpoint.hasPrefix("http://") else { return nil }
        let rest = endpoint.dropFirst("http://".count).prefix { $0 != "/" }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[close...].dropFirst(2)
        } else {
            guard let colon = rest.lastIndex(of: ":") else { return (String(rest), 80) }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard let port = UInt16(portText) else { return nil }
        return (String(host), port)
    }

    /// Connects, sends the request, reads the answer; blocking, bounded by the probe's timeout.
    static func exchange(_ probe: HTTPProbe, host: String, port: UInt16) -> Outcome {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(probe.timeoutSeconds, 0.001) * 1e9)
        func remainingMilliseconds() -> Int32 {
            let now = DispatchTime.now().uptimeNanoseconds
            return now >= deadline ? 0 : Int32(clamping: (deadline - now) / 1_000_000 + 1)
        }
        let fd: Int32
        switch connect(host: host, port: port, timeout: remainingMilliseconds) {
        case .failure(let why): return .unreachable(why)
        case .success(let socket): fd = socket
        }
        defer { close(fd) }

        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var request = "\(probe.method) \(probe.path) HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\nAccept: */*\r\n"
        let body = probe.body.map { Array($0.utf8) } ?? []
        if probe.body != nil {
            request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        request += "\r\n"
        let bytes = Array(request.utf8) + body
        var sent = 0
        while sent < bytes.count {
            guard wait(fd, for: Int16(POLLOUT), timeout: remainingMilliseconds()) else { return .unreachable("timed out sending the request") }
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, SocketCalls.noSignal) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .unreachable("send: \(String(cString: strerror(errno)))")
            }
            sent += n
        }

        var response = ResponseReader()
        var buffer = [UInt8](repeating: 0, count: 8192)
        while !response.isComplete {
            guard wait(fd, for: Int16(POLLIN), timeout: remainingMilliseconds()) else {
                return .unreachable("timed out after \(probe.timeoutSeconds) s")
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .unreachable("recv: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                response.endOfStream()
                break
            }
            response.add(buffer[..<n])
        }
        guard let status = response.status else { return .unreachable("no HTTP answer (\(response.error ?? "connection closed"))") }
        let text = String(decoding: response.body.prefix(maxBody), as: UTF8.self)
        return probe.accepts(status: status, body: text) ? .success : .failure(status: status, body: String(text.prefix(200)))
    }

    private enum Connected { case success(Int32), failure(String) }

    /// A non-blocking TCP connection to a numeric address (names are resolved, without any proxy).
    private static func connect(host: String, port: UInt16, timeout: () -> Int32) -> Connected {
        var hints = addrinfo()
        hints.ai_socktype = SocketCalls.stream
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0, let first = list else { return .failure("cannot resolve \(host): \(String(cString: gai_strerror(code)))") }
        defer { freeaddrinfo(list) }
        var why = "no address for \(host)"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, SocketCalls.streamCloseOnExec, 0)
            guard fd >= 0 else { why = "socket: \(String(cString: strerror(errno)))"; continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if SocketCalls.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return .success(fd) }
            guard errno == EINPROGRESS else {
                why = "connect: \(String(cString: strerror(errno)))"
                close(fd)
                continue
            }
            guard wait(fd, for: Int16(POLLOUT), timeout: timeout()) else {
                close(fd)
                return .failure("timed out connecting to \(host):\(port)")
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return .success(fd) }
            why = "connect: \(String(cString: strerror(error)))"
            close(fd)
        }
        return .failure(why)
    }

    /// Polls `fd` for `events` for at most `timeout` ms; false on timeout.
    private static func wait(_ fd: Int32, for events: Int16, timeout: Int32) -> Bool {
        var remaining = timeout
        while remaining > 0 {
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let start = DispatchTime.now().uptimeNanoseconds
            let ready = poll(&pfd, 1, remaining)
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { return true }  // let the next call report the error
            remaining -= Int32(clamping: (DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
        }
        return false
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

/// Hands one probe outcome to its waiter exactly once: from the request, or from cancellation.
private final class OutcomeBox: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<HTTPProber.Outcome, Never>)
        case done
    }

    private let state = Mutex(State.empty)

    /// Registers the waiter; false (and resumed with "cancelled") if cancellation came first.
    func install(_ continuation: CheckedContinuation<HTTPProber.Outcome, Never>) -> Bool {
        let alreadyDone = state.withLock { s -> Bool in
            if case .done = s { return true }
            s = .waiting(continuation)
            return false
        }
        if alreadyDone { continuation.resume(returning: .unreachable("cancelled")) }
        return !alreadyDone
    }

    func finish(_ outcome: HTTPProber.Outcome) {
        let waiter = state.withLock { s -> CheckedContinuation<HTTPProber.Outcome, Never>? in
            defer { s = .done }
            if case .waiting(let c) = s { return c }
            return nil
        }
        waiter?.resume(returning: outcome)
    }
}
