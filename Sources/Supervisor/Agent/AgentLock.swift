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

/// One agent per status file: an exclusive `flock(2)` on `<status file>.lock`, held for the agent's
/// life and released by the kernel when the process ends, however it ends. A second agent on the same
/// config would otherwise take the first one's runtimes for leftovers of a dead agent and stop them.
public final class AgentLock: Sendable {
    private let fd: Int32

    /// Why the lock could not be taken.
    public struct Held: Error, CustomStringConvertible {
        /// The lock file.
        public var path: String
        /// The holder's pid, as it wrote it, if readable.
        public var holder: String?
        public var description: String {
            "another metal-agent (pid \(holder ?? "unknown")) already runs with this status file (lock \(path)); stop it first, or give this one its own --status-file"
        }
    }

    /// Takes the lock, or throws when another process still holds it after 1 s.
    /// - Throws: `AgentLock.Held` when another process holds it; `POSIXError` when the file cannot be opened.
    public init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        // `metal-agent status` (`AgentPresence`) holds a shared lock for an instant: retry for 1 s.
        var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        for _ in 0..<100 where !locked {
            usleep(10_000)
            locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        }
        guard locked else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingWhitespace()
            close(fd)
            throw Held(path: path, holder: holder)
        }
        _ = ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        self.fd = fd
    }

    deinit { close(fd) }
}
