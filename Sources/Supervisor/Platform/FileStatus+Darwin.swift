#if canImport(Darwin)
import Darwin

extension stat {
    /// Last modification time (`st_mtimespec` in Darwin's `struct stat`, stat(2)).
    var modificationTime: timespec { st_mtimespec }
    /// Last status change time (`st_ctimespec`): a chmod or chown changes it, and a write too.
    var changeTime: timespec { st_ctimespec }
}
#endif
