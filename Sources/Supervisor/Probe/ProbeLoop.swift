import ConfigModel
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
                    s.submitted.append(
                        Exchange(
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
                defer {
                    s.submitted = []
                    s.cancelled = []
                }
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
                timeout = max(0, Int32(clamping: left.inMilliseconds) + 1)
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
