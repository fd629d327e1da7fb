#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free space on a file system, for the check before a download.
enum DiskSpace {
    /// Bytes an unprivileged process may still write on the file system holding `path` (`statvfs` f_bavail x f_frsize),
    /// or nil when it cannot be read.
    static func available(at path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}
