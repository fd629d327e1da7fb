#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Who a process is, firmly enough to tell it from a stranger that later got the same pid: its pid,
/// its start time (clock ticks after boot, `/proc/<pid>/stat` field 22) and the boot it started in
/// (`bootID`). How each is read, and how a signal reaches only this process, is the platform's
/// (`ProcessIdentity+Linux.swift`, `ProcessIdentity+Darwin.swift`).
public struct ProcessIdentity: Sendable, Hashable, Codable {
    /// Process id (also the process group id of a runtime).
    public var pid: Int32
    /// Start time as the platform counts it (Linux: clock ticks after boot; macOS: microseconds since the
    /// epoch); only equality matters.
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

    /// True when `pid` still is this very process (same start time, same boot) and has not exited.
    public var isStillRunning: Bool { Self.current(pid: pid) == self }

    /// True when no other process holds this pid: it is free, or still this process (even as a zombie).
    /// Then this pid's process group, if it has members, is the one this process led.
    var pidIsNotAStranger: Bool {
        guard let (holder, _) = Self.read(pid: pid) else { return kill(pid, 0) != 0 }
        return holder == self
    }
}
