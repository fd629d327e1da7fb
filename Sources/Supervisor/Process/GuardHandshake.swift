import ConfigModel
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The guard's one-line answer on its socket (see runtime guard (`metal-agent-guard`)).
enum GuardHandshake: Sendable, Equatable {
    case runtime(Int32)
    case failed(String)
    case noAnswer(String)

    /// Reads the answer from `fd`, waiting at most `timeout`, without holding a thread while it waits:
    /// a Dispatch read source wakes when the guard writes. (It was a blocking `poll` on a global-queue
    /// thread; Linux's libdispatch runs about one such item per core at a time, so 100 entries started
    /// together waited for each other's guards one by one, about 1 ms each. Issue 12.)
    /// `fd` is not read or watched any more once this returns, so the caller may close it.
    static func receive(_ fd: Int32, timeout: Duration) async -> GuardHandshake {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "metal-agent.guard-handshake")
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            let state = HandshakeRead()  // touched on `queue` only
            let timer = DispatchWorkItem { state.finish(.noAnswer("no answer within \(timeout)"), source) }
            // Resumed once Dispatch no longer watches `fd` (its cancel handler), never before.
            source.setCancelHandler {
                timer.cancel()
                continuation.resume(returning: state.answer ?? .noAnswer("cancelled"))
            }
            source.setEventHandler {
                var buffer = [UInt8](repeating: 0, count: 256)
                let n = read(fd, &buffer, buffer.count)
                if n < 0 {
                    let code = errno
                    if code == EINTR || code == EAGAIN { return }
                    return state.finish(.noAnswer("read: \(String(cString: strerror(code)))"), source)
                }
                if n == 0 { return state.finish(.noAnswer("it exited without an answer"), source) }
                state.line += buffer[..<n]
                guard let end = state.line.firstIndex(of: UInt8(ascii: "\n")) else { return }
                state.finish(Self.parse(String(decoding: state.line[..<end], as: UTF8.self)), source)
            }
            queue.asyncAfter(deadline: .now() + .milliseconds(Int(clamping: timeout.inMilliseconds)), execute: timer)
            source.resume()
        }
    }

    /// One answer line, without its line break.
    static func parse(_ text: String) -> GuardHandshake {
        if text.hasPrefix("pid "), let pid = Int32(text.dropFirst(4)) { return .runtime(pid) }
        if text.hasPrefix("error ") { return .failed(String(text.dropFirst(6))) }
        return .noAnswer("unexpected answer \(text.debugDescription)")
    }
}

/// The bytes read so far and the answer, confined to one handshake's serial queue.
private final class HandshakeRead: @unchecked Sendable {
    var line: [UInt8] = []
    var answer: GuardHandshake?

    /// Records the first answer and stops watching (the cancel handler resumes the waiter).
    func finish(_ answer: GuardHandshake, _ source: any DispatchSourceRead) {
        guard self.answer == nil else { return }
        self.answer = answer
        source.cancel()
    }
}
