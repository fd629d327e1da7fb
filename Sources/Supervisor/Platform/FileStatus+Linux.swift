#if os(Linux)
import Glibc

extension stat {
    /// Last modification time (`st_mtim` in Glibc's `struct stat`).
    var modificationTime: timespec { st_mtim }
}
#endif
