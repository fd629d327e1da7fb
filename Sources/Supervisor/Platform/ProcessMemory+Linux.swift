#if os(Linux)
import Glibc

/// Resident set size of `pid` in bytes, from `/proc/<pid>/statm` (resident pages × page size); nil when
/// the process is gone.
func residentBytes(of pid: Int32) -> Int64? {
    let fd = open("/proc/\(pid)/statm", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = read(fd, &buffer, buffer.count)
    guard count > 0 else { return nil }
    let fields = buffer[..<count].split(separator: 0x20)
    guard fields.count > 1, let pages = Int64(String(decoding: fields[1], as: UTF8.self)) else { return nil }
    return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
}
#endif
