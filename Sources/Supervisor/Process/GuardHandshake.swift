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

    /// Reads the answer from `fd` on a Dispatch thread (a blocking read must not hold one of Swift's
    /// few cooperative threads), waiting at most `timeout`.
    static func receive(_ fd: Int32, timeout: Duration) async -> GuardHandshake {
        let milliseconds = Int32(clamping: timeout.inMilliseconds)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var line: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 256)
                while !line.contains(UInt8(ascii: "\n")) {
                    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    let ready = poll(&pfd, 1, milliseconds)
                    if ready == 0 { return continuation.resume(returning: .noAnswer("no answer within \(timeout)")) }
                    if ready < 0 {
                        if errno == EINTR { continue }
                        return continuation.resume(returning: .noAnswer("poll: \(String(cString: strerror(errno)))"))
                    }
                    let n = read(fd, &buffer, buffer.count)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return continuation.resume(returning: .noAnswer("it exited without an answer")) }
                    line += buffer[..<n]
                }
                let text = String(decoding: line.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
                if text.hasPrefix("pid "), let pid = Int32(text.dropFirst(4)) {
                    continuation.resume(returning: .runtime(pid))
                } else if text.hasPrefix("error ") {
                    continuation.resume(returning: .failed(String(text.dropFirst(6))))
                } else {
                    continuation.resume(returning: .noAnswer("unexpected answer \(text.debugDescription)"))
                }
            }
        }
    }
}
