#if canImport(Darwin)
import Darwin

/// macOS's process table (libproc.h): `proc_pidinfo(PROC_PIDTBSDINFO)` for one process (parent, state,
/// start time), `proc_listchildpids` and `proc_listallpids` for the lists. A start time here is the
/// process's start in microseconds since the epoch (`pbi_start_tvsec`, `pbi_start_tvusec`); only its
/// equality matters to `ProcessIdentity`.
extension ProcessTree {
    /// What the kernel says of `pid`; nil when there is no such process (or it is not ours to see).
    static func stat(_ pid: pid_t) -> Stat? {
        var info = proc_bsdinfo()
        let size = Int32(MemoryLayout<proc_bsdinfo>.size)
        guard proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &info, size) == size else { return nil }
        // `pbi_status` is the BSD process state; SZOMB is a zombie (sys/proc.h).
        let zombie = info.pbi_status == UInt32(SZOMB)
        let start = UInt64(info.pbi_start_tvsec) * 1_000_000 + UInt64(info.pbi_start_tvusec)
        return Stat(pid: pid, state: zombie ? "Z" : "S", parent: pid_t(info.pbi_ppid), startTime: start)
    }

    /// The children of `pid` (zombies included); nil when the list cannot be read.
    static func childPIDs(of pid: pid_t) -> [pid_t]? {
        // proc_listchildpids returns the number of pids it wrote (not bytes); retry with more room when full.
        var capacity = 256
        while true {
            var pids = [pid_t](repeating: 0, count: capacity)
            let count = Int(proc_listchildpids(pid, &pids, Int32(capacity * MemoryLayout<pid_t>.size)))
            guard count >= 0 else { return nil }
            if count < capacity { return Array(pids.prefix(count)) }
            capacity *= 4
        }
    }

    /// Calls `body` with every process the kernel lists (a snapshot).
    static func forEachProcess(_ body: (Stat) -> Void) {
        let expected = Int(proc_listallpids(nil, 0))
        guard expected > 0 else { return }
        var pids = [pid_t](repeating: 0, count: expected + 64)
        let count = Int(proc_listallpids(&pids, Int32(pids.count * MemoryLayout<pid_t>.size)))
        guard count > 0 else { return }
        for pid in pids.prefix(count) where pid > 0 {
            if let stat = stat(pid) { body(stat) }
        }
    }
}
#endif
