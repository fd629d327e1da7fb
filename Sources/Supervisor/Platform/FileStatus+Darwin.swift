#if canImport(Darwin)
import Darwin

extension stat {
    /// Last modification time (`st_mtimespec` in Darwin's `struct stat`, stat(2)).
    var modificationTime: timespec { st_mtimespec }
}
#endif
