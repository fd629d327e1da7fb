#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The process tree, as the platform's process table shows it (`ProcessTable+Linux.swift`: `/proc`;
/// `ProcessTable+Darwin.swift`: `proc_pidinfo`).
///
/// Every answer is a snapshot: by the time it is used, a process in it may have exited and its pid may
/// belong to a stranger (pids wrap around at `/proc/sys/kernel/pid_max`, 32,768 by default on many
/// systems). So processes are named by `ProcessIdentity` (pid plus start time), and `signal(treeOf:)`
/// signals each one through `ProcessIdentity.signal(_:)`, which never reaches a process that reused a pid.
enum ProcessTree {
    /// What `/proc/<pid>/stat` says of one process.
    struct Stat: Sendable, Equatable {
        var pid: pid_t
        /// State letter: `R`, `S`, `D`, `T`, `Z` (zombie), `X` (dead), ...
        var state: Character
        var parent: pid_t
        /// Start time in clock ticks after boot (field 22).
        var startTime: UInt64
        var isZombie: Bool { state == "Z" || state == "X" }
        /// The process's identity as of this snapshot.
        var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTime: startTime, bootID: ProcessIdentity.bootID) }
    }

    /// Every live (not zombie) descendant of `root`, parents before their children.
    ///
    /// Walks the kernel's children lists (`/proc/<pid>/task/<tid>/children`, Linux 3.5), so the cost
    /// follows the size of the tree, not the number of processes on the machine (with 1,000 entries
    /// stopping at once, a scan of all of `/proc` per stop was quadratic); falls back to a scan of
    /// `/proc` where the kernel has no children lists.
    static func descendants(of root: pid_t) -> [Stat] {
        guard var queue = childPIDs(of: root) else { return descendantsByScan(of: root) }
        var result: [Stat] = []
        var next = 0
        while next < queue.count {
            let pid = queue[next]
            next += 1
            guard let stat = stat(pid), !stat.isZombie else { continue }
            result.append(stat)
            queue.append(contentsOf: childPIDs(of: pid) ?? [])
        }
        return result
    }

    private static func descendantsByScan(of root: pid_t) -> [Stat] {
        let children = childrenByParent()
        var result: [Stat] = []
        var queue = children[root] ?? []
        var next = 0
        while next < queue.count {
            let process = queue[next]
            next += 1
            result.append(process)
            queue.append(contentsOf: children[process.pid] ?? [])
        }
        return result
    }

    /// Sends `signal` to every live descendant of `root`, and to `root` itself when `includingRoot`.
    /// Nothing is signalled when `root`'s pid now belongs to another process (the descendants found
    /// would be that stranger's). Each process is signalled only if it is still the one the scan found
    /// (same pid and start time): one that exited meanwhile is skipped, and a stranger that took its pid
    /// is never touched.
    /// - Returns: how many processes were signalled.
    @discardableResult
    static func signal(treeOf root: ProcessIdentity, _ signal: Int32, includingRoot: Bool) -> Int {
        guard ProcessIdentity.read(pid: root.pid)?.0 == root else { return 0 }
        var sent = 0
        for process in descendants(of: root.pid) where process.identity.signal(signal) { sent += 1 }
        if includingRoot, root.signal(signal) { sent += 1 }
        return sent
    }

    /// Children of `parent`, live and zombie, whose pid `skip` does not exclude (from its children
    /// lists, else a scan of `/proc`). The children lists give pids without reading each child's `stat`:
    /// an agent with 1,000 guards reads only the children it does not know.
    static func allChildren(of parent: pid_t, skipping skip: (pid_t) -> Bool = { _ in false }) -> [Stat] {
        if let pids = childPIDs(of: parent) {
            return pids.filter { !skip($0) }.compactMap { stat($0) }.filter { $0.parent == parent }
        }
        var result: [Stat] = []
        forEachProcess { if $0.parent == parent && !skip($0.pid) { result.append($0) } }
        return result
    }

    private static func childrenByParent() -> [pid_t: [Stat]] {
        var children: [pid_t: [Stat]] = [:]
        forEachProcess { if !$0.isZombie { children[$0.parent, default: []].append($0) } }
        return children
    }
}
