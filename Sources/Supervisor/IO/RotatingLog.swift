import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends a runtime's output to `<path>`, rotating by size: when a write would pass `maxBytes`,
/// `<path>` becomes `<path>.1`, `.1` becomes `.2`, ..., and the oldest beyond `maxFiles` is deleted.
/// Used by one task at a time (the one that reads the runtime's output).
///
/// A log must never stop a model from serving, and must come back by itself: a missing folder is
/// created again when the file is opened; a file deleted while open (its folder removed, say) is
/// noticed at the next write and opened again; a file that cannot be opened at all drops the output
/// and is tried again at most every `retryInterval`.
struct RotatingLog: ~Copyable {
    let path: String
    let limits: LogLimits
    private var fd: FileDescriptor?
    private var size: Int = 0
    private var lastAttempt: ContinuousClock.Instant
    /// Shortest time between two attempts to open a file that could not be opened.
    static let retryInterval: Duration = .seconds(2)

    /// Opens (creates or appends to) `path`, creating its folder when missing.
    /// - Throws: `Errno` when the file cannot be opened.
    init(path: String, limits: LogLimits) throws {
        self.path = path
        self.limits = limits
        lastAttempt = .now
        let (fd, size) = try Self.open(path)
        self.fd = fd
        self.size = size
    }

    /// Like `init(path:limits:)`, but never fails: without a file the output is dropped until one
    /// can be opened (see `isOpen`).
    init(openingLaterIfNeeded path: String, limits: LogLimits) {
        self.path = path
        self.limits = limits
        lastAttempt = .now
        if let (fd, size) = try? Self.open(path) {
            self.fd = fd
            self.size = size
        }
    }

    deinit { try? fd?.close() }

    /// Whether a file is open now.
    var isOpen: Bool { fd != nil }

    private static func open(_ path: String) throws -> (FileDescriptor, Int) {
        func attempt() throws -> FileDescriptor {
            try FileDescriptor.open(
                FilePath(path), .writeOnly, options: [.append, .create, .closeOnExec],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
        }
        let fd: FileDescriptor
        do {
            fd = try attempt()
        } catch Errno.noSuchFileOrDirectory {
            // The folder is gone (deleted while the agent runs): create it again.
            mkdirParents(FilePath(path).removingLastComponent().string)
            fd = try attempt()
        }
        let size = (try? fd.seek(offset: 0, from: .end)).map(Int.init) ?? 0
        return (fd, size)
    }

    /// Creates `path` and its missing parents (mode 0755); failures show in the open that follows.
    private static func mkdirParents(_ path: String) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { return }
        }
    }

    /// Opens the file again when it is not open, or when it was deleted while open (link count 0), so
    /// output goes to a file someone can read. Failed opens are retried at most every `retryInterval`.
    private mutating func reopenIfNeeded() {
        if let fd {
            var info = stat()
            guard fstat(fd.rawValue, &info) == 0, info.st_nlink == 0 else { return }
            try? fd.close()
            self.fd = nil
        } else if ContinuousClock.now - lastAttempt < Self.retryInterval {
            return
        }
        lastAttempt = .now
        if let (fd, size) = try? Self.open(path) {
            self.fd = fd
            self.size = size
        }
    }

    /// Writes `bytes`, rotating first when they would not fit. Errors (disk full) drop the bytes: a
    /// runtime must never block on its log.
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        reopenIfNeeded()
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let fd else { return }
            if size >= limits.maxBytes {
                rotate()
                if size >= limits.maxBytes { return }  // the old file could not be moved away: drop
                continue
            }
            // Never more than fits, so no file passes maxBytes; split after a newline when one fits,
            // else start a new file (a line longer than maxBytes is cut where it must be).
            var take = min(rest.count, limits.maxBytes - size)
            if take < rest.count {
                if let newline = rest.prefix(take).lastIndex(of: 0x0A) {
                    take = newline - rest.startIndex + 1
                } else if size > 0 {
                    rotate()
                    if size > 0 { return }
                    continue
                }
            }
            let piece = rest.prefix(take)
            guard let written = try? fd.writeAll(UnsafeRawBufferPointer(rebasing: piece)) else { return }
            size += written
            rest = rest.dropFirst(piece.count)
        }
    }

    private mutating func rotate() {
        try? fd?.close()
        fd = nil
        if limits.maxFiles > 1 {
            unlink("\(path).\(limits.maxFiles - 1)")
            for k in stride(from: limits.maxFiles - 2, through: 1, by: -1) {
                rename("\(path).\(k)", "\(path).\(k + 1)")
            }
            rename(path, "\(path).1")
        } else {
            unlink(path)
        }
        lastAttempt = .now
        size = 0
        if let (fd, size) = try? Self.open(path) {
            self.fd = fd
            self.size = size
        }
    }
}
