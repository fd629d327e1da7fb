#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a path names, from `stat(2)` (symbolic links followed).
enum FileKind {
    /// Nothing (or nothing this process may see).
    case missing
    /// A regular file of `size` bytes.
    case file(size: Int64)
    /// A folder.
    case folder
    /// Anything else: a device, a FIFO, a socket.
    case other

    /// The kind of `path`.
    static func of(_ path: String) -> FileKind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file(size: Int64(info.st_size))
        case S_IFDIR: return .folder
        default: return .other
        }
    }

    /// True for a folder.
    var isFolder: Bool {
        if case .folder = self { true } else { false }
    }
}
