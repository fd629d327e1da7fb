import CProcessControl
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who a process is, firmly enough to tell it from a stranger that later got the same pid: its pid,
/// its start time (clock ticks after boot, `/proc/<pid>/stat` field 22) and the boot it started in
/// (`/proc/sys/kernel/random/boot_id`). Linux only; elsewhere `current(pid:)` returns nil.
public struct ProcessIdentity: Sendable, Hashable, Codable {
    /// Process id (also the process group id of a runtime).
    public var pid: Int32
    /// Start time in clock ticks after boot.
    public var startTime: UInt64
    /// The kernel's boot id when it was recorded.
    public var bootID: String

    /// Creates an identity from its parts.
    public init(pid: Int32, startTime: UInt64, bootID: String) {
        self.pid = pid
        self.startTime = startTime
        self.bootID = bootID
    }

    /// The identity of the live process `pid`, or nil when there is none, it has exited (a zombie),
    /// or this is not Linux.
    public static func current(pid: Int32) -> ProcessIdentity? {
        guard let (identity, zombie) = read(pid: pid), !zombie else { return nil }
        return identity
    }

    /// The identity of whatever process holds `pid` now, zombies included, and whether it has exited.
    static func read(pid: Int32) -> (ProcessIdentity, zombie: Bool)? {
        guard let stat = ProcessTree.stat(pid) else { return nil }
        return (stat.identity, stat.isZombie)
    }

    /// Sends `signal` to this process only if its pid still belongs to it; never to a stranger that took
    /// the pid after this process exited. Returns true when the signal was sent.
    ///
    /// Linux (5.3 and later): opens a pidfd for the pid, checks that the process it names has this start
    /// time, and signals through the pidfd (`pidfd_send_signal`), so no pid reuse can come between the
    /// check and the signal. Elsewhere, or on an older kernel: the check, then `kill(2)`; a pid would have
    /// to be freed and reused within those few microseconds to go astray.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        let pidfd = mac_pidfd_open(pid)
        if pidfd < 0 {
            guard errno == ENOSYS || errno == EPERM else { return false }  // ESRCH: no such process
            guard Self.read(pid: pid)?.0 == self else { return false }
            return kill(pid, signal) == 0
        }
        defer { close(pidfd) }
        // The pidfd was opened first: if the pid still holds this start time now, the pidfd is this process.
        guard Self.read(pid: pid)?.0 == self else { return false }
        return mac_pidfd_send_signal(pidfd, signal) == 0
    }

    /// True when `pid` still is this very process (same start time, same boot) and has not exited.
    public var isStillRunning: Bool { Self.current(pid: pid) == self }

    /// True when no other process holds this pid: it is free, or still this process (even as a zombie).
    /// Then this pid's process group, if it has members, is the one this process led.
    var pidIsNotAStranger: Bool {
        guard let (holder, _) = Self.read(pid: pid) else { return kill(pid, 0) != 0 }
        return holder == self
    }

    static let bootID: String = {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }()
}
