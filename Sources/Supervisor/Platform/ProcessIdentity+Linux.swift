#if os(Linux)
import CProcessControl
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

extension ProcessIdentity {
    /// Sends `signal` to this process only if its pid still belongs to it; never to a stranger that took
    /// the pid after this process exited. Returns true when the signal was sent.
    ///
    /// Opens a pidfd for the pid (Linux 5.3), checks that the process it names has this start time, and
    /// signals through the pidfd (`pidfd_send_signal`), so no pid reuse can come between the check and the
    /// signal. On an older kernel: the check, then `kill(2)`; a pid would have to be freed and reused
    /// within those few microseconds to go astray.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        let pidfd = metal_agent_pidfd_open(pid)
        if pidfd < 0 {
            guard errno == ENOSYS || errno == EPERM else { return false }  // ESRCH: no such process
            guard Self.read(pid: pid)?.0 == self else { return false }
            return kill(pid, signal) == 0
        }
        defer { close(pidfd) }
        // The pidfd was opened first: if the pid still holds this start time now, the pidfd is this process.
        guard Self.read(pid: pid)?.0 == self else { return false }
        return metal_agent_pidfd_send_signal(pidfd, signal) == 0
    }

    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`): start times count from this boot.
    static let bootID: String = {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingWhitespace() ?? "unknown"
    }()
}
#endif
