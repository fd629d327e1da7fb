#if os(Linux)
import Glibc

extension stat {
    /// Last modification time (`st_mtim` in Glibc's `struct stat`).
    var modificationTime: timespec { st_mtim }
    /// Last status change time (`st_ctim`): a chmod or chown changes it, and a write too.
    var changeTime: timespec { st_ctim }
}
#endif
