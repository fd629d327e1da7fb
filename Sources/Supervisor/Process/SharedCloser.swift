import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Closes a file descriptor when the last of its users releases it; a negative fd is never closed.
final class SharedCloser: Sendable {
    private let fd: Int32
    private let users: Mutex<Int>

    init(fd: Int32, users: Int) {
        self.fd = fd
        self.users = Mutex(users)
    }

    func release() {
        let last = users.withLock { n -> Bool in
            n -= 1
            return n == 0
        }
        if last && fd >= 0 { close(fd) }
    }
}
