#if canImport(Darwin)
import Darwin
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// macOS's `ChangeMonitor`: kqueue(2) `EVFILT_VNODE` on the config's folder (`NOTE_WRITE` there means an
/// entry was added, removed or renamed: rename-saves, delete-then-create, a ConfigMap's `..data` swap) and
/// on each config file (`NOTE_WRITE`, `NOTE_EXTEND`, `NOTE_ATTRIB`, `NOTE_DELETE`, `NOTE_RENAME`: in-place
/// writes, and the file leaving). Files are opened with `O_EVTONLY` (for events only; open(2)), through
/// their symlinks, so a config kept elsewhere is watched where it is; after every event each file is
/// opened again, since a rename-save or a delete leaves the old descriptor on the old inode.
///
/// Verified on Linux only by the polling monitor's tests of the same events; this file is compiled on macOS.
struct KqueueMonitor: ChangeMonitor {
    private let path: String
    private let folder: Bool

    init(path: String, folder: Bool) throws {
        self.path = path
        self.folder = folder
        let watched = folder ? path : Self.parent(of: path)
        let probe = open(watched, O_EVTONLY)
        guard probe >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        close(probe)
    }

    func run(stop: Int32, onChange: @Sendable (ConfigChange) -> Void) {
        let queue = kqueue()
        guard queue >= 0 else { return }
        defer { close(queue) }
        Self.add(stop, filter: EVFILT_READ, flags: 0, to: queue)
        let folderFD = open(folder ? path : Self.parent(of: path), O_EVTONLY)
        defer { if folderFD >= 0 { close(folderFD) } }
        if folderFD >= 0 { Self.add(folderFD, filter: EVFILT_VNODE, flags: NOTE_WRITE | NOTE_DELETE | NOTE_RENAME, to: queue) }
        // Closing a descriptor removes its events from the queue (kqueue(2)).
        var files = watchFiles(queue)
        defer { files.forEach { close($0) } }
        var events = [kevent](repeating: kevent(), count: 16)
        while true {
            let count = Darwin.kevent(queue, nil, 0, &events, Int32(events.count), nil)
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            if events.prefix(Int(count)).contains(where: { $0.ident == UInt(stop) }) { return }
            files.forEach { close($0) }
            files = watchFiles(queue)
            onChange(.settling)
        }
    }

    /// Opens every config file (the file, or each YAML file of the folder) and adds it to `queue`.
    private func watchFiles(_ queue: Int32) -> [Int32] {
        let paths = folder ? ConfigSources.expand([path]).map(\.path) : [path]
        return paths.compactMap { file in
            let fd = open(file, O_EVTONLY)
            guard fd >= 0 else { return nil }
            Self.add(fd, filter: EVFILT_VNODE, flags: NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_DELETE | NOTE_RENAME, to: queue)
            return fd
        }
    }

    /// Registers `fd` with `filter` (`EV_ADD | EV_CLEAR`: reported once per batch of changes).
    private static func add(_ fd: Int32, filter: Int32, flags: Int32, to queue: Int32) {
        var change = kevent()
        change.ident = UInt(fd)
        change.filter = Int16(filter)
        change.flags = UInt16(EV_ADD | EV_CLEAR)
        change.fflags = UInt32(flags)
        _ = Darwin.kevent(queue, &change, 1, nil, 0, nil)
    }

    private static func parent(of path: String) -> String {
        let parent = PathText.parent(of: path)
        return parent.isEmpty ? "." : parent
    }
}
#endif
