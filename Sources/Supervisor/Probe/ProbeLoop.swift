import ConfigModel
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One thread with one `poll(2)` loop that carries out every probe's exchange: connect, send the
/// request, read the response until the server closes or the body (by `Content-Length` or chunked
/// framing, `ResponseReader`) is complete, or the deadline passes. Submissions and cancellations wake it through a pipe.
///
/// It also keeps the schedule of every liveness watch (`watch`): a probe every period, counted by the
/// loop itself, so a Ready runtime costs the agent one exchange per period on this thread and nothing
/// else (no task wakes up, no timer is armed) until its probe fails `failureThreshold` times.
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
        var started: ContinuousClock.Instant = .now
        var completion: Completion
    }

    /// Who waits for an exchange's response.
    private enum Completion {
        case caller(CheckedContinuation<Response, Never>)
        case watch(UInt64)
    }

    /// A liveness watch: its request, schedule and count of failures in a row.
    private struct Watch {
        var id: UInt64
        var request: [UInt8]
        var address: SocketAddress
        var period: Duration
        var timeout: Duration
        var failureThreshold: Int
        var judge: @Sendable (Response) -> String?
        var observe: @Sendable (Duration) -> Void
        var continuation: CheckedContinuation<String?, Never>
        var due: ContinuousClock.Instant
        var failures = 0
        var probing = false
    }

    private struct State {
        var nextID: UInt64 = 0
        var submitted: [Exchange] = []
        var watches: [Watch] = []
        var cancelled: Set<UInt64> = []
        var started = false
    }

    private let state = Mutex(State())
    private let wake = WakePipe()

    init() {}

    /// Sends `request` to `address` and returns the response's status and (up to 4 KiB of) body.
    func exchange(_ request: [UInt8], with address: SocketAddress, timeout: Duration) async -> Response {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let submitted = submit {
                    $0.submitted.append(
                        Exchange(
                            id: id, address: address, request: request, deadline: .now + timeout, completion: .caller(continuation)))
                }
                if !submitted { continuation.resume(returning: .failure(ProbeError(message: "cancelled"))) }
            }
        } onCancel: {
            state.withLock { _ = $0.cancelled.insert(id) }
            poke()
        }
    }

    /// Sends `request` to `address` every `period` (the first one `period` from now; each next one
    /// `period` after the last one ended), each bounded by `timeout`, until `judge` has found
    /// `failureThreshold` responses in a row wanting, and returns its verdict on the last one.
    /// `judge` returns nil for a response that passes, else what was wrong with it; `observe` gets
    /// each exchange's duration. Both are called on the loop's thread and must be quick.
    /// Cancelling the caller ends the watch at once (nil) and closes a connection in progress.
    func watch(
        _ request: [UInt8], with address: SocketAddress, period: Duration, timeout: Duration, failureThreshold: Int,
        judge: @escaping @Sendable (Response) -> String?, observe: @escaping @Sendable (Duration) -> Void
    ) async -> String? {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                let submitted = submit {
                    $0.watches.append(
                        Watch(
                            id: id, request: request, address: address, period: period, timeout: timeout,
                            failureThreshold: max(1, failureThreshold), judge: judge, observe: observe, continuation: continuation,
                            due: .now + period))
                }
                if !submitted { continuation.resume(returning: nil) }
            }
        } onCancel: {
            state.withLock { _ = $0.cancelled.insert(id) }
            poke()
        }
    }

    /// Adds work for the loop (starting it on first use) and wakes it; false, adding nothing, when the
    /// calling task is already cancelled. Checked under the lock that `onCancel` takes after the flag is
    /// set: a cancellation before this point must not submit, as its `onCancel` may have run and the loop
    /// taken and dropped it (the watch would then never end while its runtime answers, and the stop that
    /// cancelled it would wait forever: an entry stuck in Terminating); one after it finds the work
    /// submitted.
    private func submit(_ add: (inout State) -> Void) -> Bool {
        let startThread = state.withLock { s -> Bool? in
            if Task.isCancelled { return nil }
            add(&s)
            defer { s.started = true }
            return !s.started
        }
        guard let startThread else { return false }
        if startThread { startLoop() }
        poke()
        return true
    }

    private func startLoop() {
        DetachedThread.start(name: "probes") { [self] in run() }
    }

    private func poke() {
        wake.poke()
    }

    /// The loop; runs for the life of the process.
    private func run() {
        var active: [Exchange] = []
        var watches: [UInt64: Watch] = [:]
        // When each idle watch is due, earliest first: a wake-up looks at the watches that are due, not at
        // all of them (1,000 watches were copied twice per wake-up, hundreds of times a second).
        var schedule = ProbeSchedule()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let (new, newWatches, cancelled) = state.withLock { s -> ([Exchange], [Watch], Set<UInt64>) in
                defer {
                    s.submitted = []
                    s.watches = []
                    s.cancelled = []
                }
                return (s.submitted, s.watches, s.cancelled)
            }
            for watch in newWatches {
                watches[watch.id] = watch
                schedule.add(watch.id, at: watch.due)
            }
            for id in cancelled {
                watches.removeValue(forKey: id)?.continuation.resume(returning: nil)
            }
            var starting = new
            var now = ContinuousClock.now
            for (id, due) in schedule.takeDue(now) {
                // A cancelled watch, or one rescheduled since, left a stale entry behind: skipped.
                guard let watch = watches[id], !watch.probing, watch.due == due else { continue }
                watches[id]?.probing = true
                starting.append(
                    Exchange(id: id, address: watch.address, request: watch.request, deadline: now + watch.timeout, completion: .watch(id)))
            }
            for var exchange in starting {
                if let error = open(&exchange) {
                    complete(exchange, .failure(error), watches: &watches, schedule: &schedule)
                } else {
                    active.append(exchange)
                }
            }
            now = ContinuousClock.now
            active.removeAll { exchange in
                if cancelled.contains(exchange.id) {
                    if exchange.fd >= 0 { close(exchange.fd) }
                    if case .caller(let continuation) = exchange.completion {
                        continuation.resume(returning: .failure(ProbeError(message: "cancelled")))
                    }
                    return true
                }
                if now >= exchange.deadline {
                    let why = exchange.connected ? "timed out waiting for the response" : "timed out connecting"
                    complete(exchange, .failure(ProbeError(message: why)), watches: &watches, schedule: &schedule)
                    return true
                }
                return false
            }

            var fds = [pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)]
            for exchange in active {
                let wantsWrite = !exchange.connected || exchange.sent < exchange.request.count
                fds.append(pollfd(fd: exchange.fd, events: Int16(wantsWrite ? POLLOUT : POLLIN), revents: 0))
            }
            var timeout: Int32 = -1
            let nextDue = schedule.earliest
            if let soonest = (active.map(\.deadline) + (nextDue.map { [$0] } ?? [])).min() {
                let left = soonest - .now
                timeout = max(0, Int32(clamping: left.inMilliseconds) + 1)
            }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { continue }
            if fds[0].revents != 0 { wake.drain() }

            var finished: Set<UInt64> = []
            for index in active.indices where fds[index + 1].revents != 0 {
                if let response = step(&active[index], revents: fds[index + 1].revents, buffer: &buffer) {
                    complete(active[index], response, watches: &watches, schedule: &schedule)
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

    /// Closes the exchange's connection and hands its response to whoever waits for it: its caller, or
    /// its watch, which then either schedules its next probe or, at its failure threshold, ends.
    private func complete(_ exchange: Exchange, _ response: Response, watches: inout [UInt64: Watch], schedule: inout ProbeSchedule) {
        if exchange.fd >= 0 { close(exchange.fd) }
        switch exchange.completion {
        case .caller(let continuation):
            continuation.resume(returning: response)
        case .watch(let id):
            guard var watch = watches[id] else { return }
            let ended = ContinuousClock.now
            watch.observe(ended - exchange.started)
            watch.probing = false
            watch.due = ended + watch.period
            if let failure = watch.judge(response) {
                watch.failures += 1
                if watch.failures >= watch.failureThreshold {
                    watches[id] = nil
                    watch.continuation.resume(returning: failure)
                    return
                }
            } else {
                watch.failures = 0
            }
            watches[id] = watch
            schedule.add(id, at: watch.due)
        }
    }
}

/// Watches' next probe times, earliest first (an array kept sorted: inserting moves at most a few
/// kilobytes, and taking what is due takes from the front).
struct ProbeSchedule {
    private var entries: [(due: ContinuousClock.Instant, id: UInt64)] = []

    /// The earliest time any entry is due; nil when empty.
    var earliest: ContinuousClock.Instant? { entries.first?.due }

    /// Adds `id`, due at `due`, after any entry due at the same time.
    mutating func add(_ id: UInt64, at due: ContinuousClock.Instant) {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].due <= due { low = mid + 1 } else { high = mid }
        }
        entries.insert((due, id), at: low)
    }

    /// Removes and returns every entry due at or before `now`, earliest first.
    mutating func takeDue(_ now: ContinuousClock.Instant) -> [(id: UInt64, due: ContinuousClock.Instant)] {
        var count = 0
        while count < entries.count, entries[count].due <= now { count += 1 }
        guard count > 0 else { return [] }
        let due = entries[..<count].map { (id: $0.id, due: $0.due) }
        entries.removeFirst(count)
        return due
    }
}
