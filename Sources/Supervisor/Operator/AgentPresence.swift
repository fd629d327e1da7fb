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

/// Whether the agent that writes a status file is alive, read from its lock (`<status file>.lock`,
/// see `AgentLock`): the kernel drops an agent's `flock(2)` when it ends, however it ends, so a
/// stale status file is never taken for a live agent's.
///
/// The check takes a shared lock for an instant and drops it; `AgentLock` retries its exclusive lock
/// for a while, so an agent starting at that instant is not turned away.
public enum AgentPresence: Sendable, Hashable {
    /// An agent holds the lock; its pid as it wrote it, if readable.
    case running(pid: String?)
    /// Nobody holds the lock, or there is no lock file: the agent is gone (or never ran).
    case gone

    /// Checks the lock of `statusPath` (`<statusPath>.lock`).
    public static func check(statusPath: String) -> AgentPresence {
        let path = statusPath + ".lock"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .gone }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return .gone
        }
        let pid = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingWhitespace()
        return .running(pid: pid?.isEmpty == false ? pid : nil)
    }
}
