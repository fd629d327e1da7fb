import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Size and count limits for a service's log files (`--log-max-bytes`, `--log-max-files`).
///
/// Defaults follow the kubelet's container log rotation: `containerLogMaxSize` 10 Mi and
/// `containerLogMaxFiles` 5 (KubeletConfiguration), so one service's logs take at most 50 MiB.
public struct LogLimits: Sendable, Hashable {
    /// Largest size of one file in bytes before it is rotated.
    public var maxBytes: Int
    /// Most files kept per service, the current one included (`<name>.log`, `<name>.log.1`, ...).
    public var maxFiles: Int

    /// The kubelet's defaults: 10 MiB, 5 files.
    public static let kubelet = LogLimits(maxBytes: 10 << 20, maxFiles: 5)

    /// - Precondition: `maxBytes` > 0 and `maxFiles` >= 1 (the CLI checks both).
    public init(maxBytes: Int, maxFiles: Int) {
        self.maxBytes = max(1, maxBytes)
        self.maxFiles = max(1, maxFiles)
    }
}

/// Appends a runtime's output to `<path>`, rotating by size: when a write would pass `maxBytes`,
/// `<path>` becomes `<path>.1`, `.1` becomes `.2`, ..., and the oldest beyond `maxFiles` is deleted.
/// Used by one task at a time (the one that reads the runtime's output).
struct RotatingLog: ~Copyable {
    let path: String
    let limits: LogLimits
    private var fd: FileDescriptor
    private var size: Int

    /// Opens (creates or appends to) `path`.
    /// - Throws: `Errno` when the file cannot be opened.
    init(path: String, limits: LogLimits) throws {
        self.path = path
        self.limits = limits
        (fd, size) = try Self.open(path)
    }

    deinit { try? fd.close() }

    private static func open(_ path: String) throws -> (FileDescriptor, Int) {
        let fd = try FileDescriptor.open(
            FilePath(path), .writeOnly, options: [.append, .create, .closeOnExec],
            permissions: [.ownerReadWrite, .groupRead, .otherRead])
        let size = (try? fd.seek(offset: 0, from: .end)).map(Int.init) ?? 0
        return (fd, size)
    }

    /// Writes `bytes`, rotating first when they would not fit. Errors (disk full) drop the bytes: a
    /// runtime must never block on its log.
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        while !rest.isEmpty {
            if size >= limits.maxBytes { rotate() }
            // Never more than fits, so no file passes maxBytes; split after a newline when one fits,
            // else start a new file (a line longer than maxBytes is cut where it must be).
            var take = min(rest.count, limits.maxBytes - size)
            if take < rest.count {
                if let newline = rest.prefix(take).lastIndex(of: 0x0A) {
                    take = newline - rest.startIndex + 1
                } else if size > 0 {
                    rotate()
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
        try? fd.close()
        if limits.maxFiles > 1 {
            unlink("\(path).\(limits.maxFiles - 1)")
            for k in stride(from: limits.maxFiles - 2, through: 1, by: -1) {
                rename("\(path).\(k)", "\(path).\(k + 1)")
            }
            rename(path, "\(path).1")
        } else {
            unlink(path)
        }
        if let reopened = try? Self.open(path) {
            (fd, size) = reopened
        } else {
            size = 0
        }
    }
}
