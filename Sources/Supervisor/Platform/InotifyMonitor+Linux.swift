import ConfigModel

#if os(Linux)
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Linux's `ChangeMonitor`: inotify on the config's folder (not the file), so rename-saves
/// (`IN_MOVED_TO`), delete-then-create (`IN_DELETE`, `IN_CREATE`), in-place writes (`IN_CLOSE_WRITE`) and
/// Kubernetes-style `..data` symlink swaps are all seen; events for other names are ignored. Besides the
/// config's own folder it watches the folder of the file the config finally points to when it is a
/// symlink (a config kept elsewhere, or a ConfigMap's `..data/models.yaml`), re-resolved after every
/// event, so edits of the target and swaps of the link are both seen (inotify(7)).
struct InotifyMonitor: ChangeMonitor {
    private let fd: Int32
    private let configWatch: Int32
    private let path: String
    /// The config file's name; empty for a folder (any YAML file in it counts).
    private let name: String
    private static let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)

    init(path: String, folder: Bool) throws {
        let parent = PathText.parent(of: path)
        let watched = folder ? path : parent.isEmpty ? "." : parent
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let watch = inotify_add_watch(fd, watched, Self.mask)
        guard watch >= 0 else {
            let code = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        self.fd = fd
        self.configWatch = watch
        self.path = path
        self.name = folder ? "" : PathText.lastComponent(of: path)
    }

    func run(stop: Int32, onChange: @Sendable (ConfigChange) -> Void) {
        defer { close(fd) }
        let bufferSize = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        var target = name.isEmpty ? nil : watchTarget()
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let count = read(fd, buffer, bufferSize)
            guard count > 0 else { continue }
            if let change = relevant(buffer, count: count, target: target) {
                if !name.isEmpty { target = watchTarget() }
                onChange(change)
            }
        }
    }

    /// Whether any event in the `count` bytes read concerns the config (its name, a YAML file of a watched
    /// folder, a `..data` swap, the symlink target), or the queue overflowed (then anything may have
    /// changed): nil when none does; `.complete` when each that does is `IN_CLOSE_WRITE` or `IN_MOVED_TO`.
    private func relevant(_ buffer: UnsafeMutableRawPointer, count: Int, target: (watch: Int32, name: String)?) -> ConfigChange? {
        var offset = 0
        var relevant = false
        var complete = true
        let whole = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO)
        let headerSize = MemoryLayout<inotify_event>.size
        while offset + headerSize <= count {
            let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
            let nameLength = Int(event.len)
            if nameLength > 0 {
                let namePointer = buffer.advanced(by: offset + headerSize).assumingMemoryBound(to: CChar.self)
                let eventName = String(cString: namePointer)
                let yaml = name.isEmpty && !eventName.hasPrefix(".") && (eventName.hasSuffix(".yaml") || eventName.hasSuffix(".yml"))
                var concerns = false
                if event.wd == configWatch, eventName == name || yaml || eventName.hasPrefix("..") {
                    // The file itself, or a Kubernetes atomic-writer swap (`..data`, `..2026_...`).
                    concerns = true
                } else if let target, event.wd == target.watch, eventName == target.name {
                    concerns = true
                }
                if concerns {
                    relevant = true
                    if event.mask & whole == 0 || (event.mask & UInt32(IN_MOVED_TO) == 0 && eventName.hasPrefix("..")) {
                        complete = false
                    }
                }
            }
            if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                relevant = true
                complete = false
            }
            offset += headerSize + nameLength
        }
        return relevant ? (complete ? .complete : .settling) : nil
    }

    /// Watches the folder of the config's final symlink target (the config's own folder included: then
    /// inotify returns the same watch, and events for the target's name count); nil when not a symlink.
    private func watchTarget() -> (watch: Int32, name: String)? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        let real = String(cString: resolved)
        let folder = PathText.parent(of: real)
        guard real != path else { return nil }
        let watch = inotify_add_watch(fd, folder, Self.mask)
        return watch >= 0 ? (watch, PathText.lastComponent(of: real)) : nil
    }
}
#endif
