import ConfigModel
import Executors
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one full reload decided from: the config's content, the rejected files' errors, the runtimes'
/// versions, and every path the desired state checked (model files and folders, projector and draft
/// files), each with its stat stamp taken before the check.
///
/// When a later reload finds all of them unchanged, and nothing outside them asked for a reconcile
/// (an on-demand start), rebuilding and reconciling could decide nothing new, so the agent skips them:
/// the 10 s re-check of a 1,000-entry config is then a few hundred `stat(2)` calls instead of a
/// rebuild (issue 12: idle CPU).
struct ReloadInputs: Sendable {
    var contentKey: [UInt8]
    var errors: [ConfigError]
    var versions: [String: RuntimeVersion]
    var stamps: [String: PathStamp]

    /// Whether every recorded path still has the stamp it had.
    var pathsUnchanged: Bool {
        stamps.allSatisfy { path, stamp in PathStamp(path) == stamp }
    }
}

/// Type, size, modification time and inode of a path (`stat(2)`, following links), or its absence.
struct PathStamp: Sendable, Hashable {
    var exists = false
    var mode: UInt32 = 0
    var size: Int64 = 0
    var seconds = 0
    var nanoseconds = 0
    var inode: UInt64 = 0
    var device: UInt64 = 0

    init(_ path: String) {
        var s = stat()
        guard stat(path, &s) == 0 else { return }
        exists = true
        mode = UInt32(s.st_mode)
        size = Int64(truncatingIfNeeded: s.st_size)
        seconds = Int(s.modificationTime.tv_sec)
        nanoseconds = Int(s.modificationTime.tv_nsec)
        inode = UInt64(truncatingIfNeeded: s.st_ino)
        device = UInt64(truncatingIfNeeded: s.st_dev)
    }

    /// A folder (after symlinks), from `mode`.
    var isDirectory: Bool { exists && mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
}

/// A `DesiredStateBuilder.FileCheck` that stamps each path before checking it.
final class PathRecorder: Sendable {
    private let seen = Mutex<[String: PathStamp]>([:])

    init() {}

    /// Stamps `path`, then checks it as `DesiredStateBuilder.stat` does; a path checked before (1,000
    /// entries of one Model check one file) gets the first answer again: one build sees one state of
    /// each path.
    @Sendable func check(_ path: String) -> (exists: Bool, isDirectory: Bool) {
        // The stamp's stat(2) follows symlinks as `DesiredStateBuilder.stat` does: one call answers both.
        let stamp = seen.withLock { $0[path] } ?? PathStamp(path)
        let stored = seen.withLock { s in
            if let known = s[path] { return known }
            s[path] = stamp
            return stamp
        }
        return (stored.exists, stored.isDirectory)
    }

    /// Every path checked, with its first stamp.
    var stamps: [String: PathStamp] { seen.withLock { $0 } }
}
