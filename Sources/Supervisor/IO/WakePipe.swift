#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The self-pipe a `poll(2)` loop thread sleeps on (`OutputPump`, `ProbeLoop`): other threads `poke`
/// it after handing the loop work; the loop polls `readEnd` and `drain`s it when it fires. Both ends
/// are non-blocking and close-on-exec; it lives as long as the process.
struct WakePipe: Sendable {
    /// The end the loop polls for `POLLIN`.
    let readEnd: Int32
    private let writeEnd: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    /// Wakes the loop (a full pipe already means "wake up").
    func poke() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe after `poll` reported it readable.
    func drain() {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { bytes in
            while read(readEnd, bytes.baseAddress, bytes.count) > 0 {}
        }
    }
}
