#if canImport(Darwin)
import Darwin

/// Resident set size of `pid` in bytes, from `proc_pidinfo(PROC_PIDTASKINFO)`; nil when the process is
/// gone or not readable.
func residentBytes(of pid: Int32) -> Int64? {
    var info = proc_taskinfo()
    let size = Int32(MemoryLayout<proc_taskinfo>.size)
    guard proc_pidinfo(pid, PROC_PIDTASKINFO, 0, &info, size) == size else { return nil }
    return Int64(info.pti_resident_size)
}
#endif
