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

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`).
///
/// Each entry holds about four descriptors (its log pipe, the guard's lifeline, the spawn's pidfd, a
/// probe socket), and systemd's default soft limit is 1,024 (`LimitNOFILE=1024:524288`, systemd 240 and
/// later), which would stop the agent at about 250 entries. The hard limit is what the administrator
/// allows; the soft limit is only a default that programs that need more are meant to raise
/// (systemd.exec(5), "LimitNOFILE=").
public enum OpenFileLimit {
    /// Raises the soft limit to the hard limit. Returns the soft limit before and after.
    @discardableResult
    public static func raiseToHardLimit() -> (before: UInt64, after: UInt64) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (0, 0) }
        let before = UInt64(limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(resource, &raised) != 0 {
            #if canImport(Darwin)
            // Darwin refuses more than OPEN_MAX for an unlimited hard limit.
            raised.rlim_cur = min(limit.rlim_max, rlim_t(OPEN_MAX))
            guard setrlimit(resource, &raised) == 0 else { return (before, before) }
            #else
            return (before, before)
            #endif
        }
        return (before, UInt64(raised.rlim_cur))
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
