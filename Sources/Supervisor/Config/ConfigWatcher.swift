import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Watches the config file's folder and calls back when the file may have changed.
///
/// Linux: inotify on the folder (not the file), so rename-saves (`IN_MOVED_TO`), delete-then-create
/// (`IN_DELETE`, `IN_CREATE`), in-place writes (`IN_CLOSE_WRITE`) and Kubernetes-style `..data`
/// symlink swaps are all seen; events for other names are ignored. Elsewhere: polls the file's
/// identity (inode, size, mtime) every 500 ms. The callback may fire for no real change; the
/// reconciler compares content before acting. A folder (`folder: true`) is watched itself: an event
/// for any `*.yaml` or `*.yml` in it counts.
public final class ConfigWatcher: Sendable {
    private let path: String
    private let folder: Bool
    private let onChange: @Sendable () -> Void
    private let stopPipe: (read: Int32, write: Int32)

    /// - Parameters:
    ///   - path: the config file, or a folder of them.
    ///   - folder: true when `path` is a folder.
    ///   - onChange: called from the watcher's own thread.
    public init(path: String, folder: Bool = false, onChange: @escaping @Sendable () -> Void) {
        self.path = path
        self.folder = folder
        self.onChange = onChange
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        stopPipe = (fds[0], fds[1])
    }

    deinit {
        close(stopPipe.read)
        close(stopPipe.write)
    }

    /// Starts watching on a dedicated thread.
    /// - Throws: `POSIXError` when inotify cannot watch the folder.
    public func start() throws {
        let path = self.path
        let onChange = self.onChange
        let stop = stopPipe.read
        let isFolder = self.folder
        let folder = isFolder ? path : (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        // In a folder every YAML file counts (an empty name stands for "any").
        let name = isFolder ? "" : (path as NSString).lastPathComponent
        #if os(Linux)
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)
        let configWatch = inotify_add_watch(fd, folder, mask)
        guard configWatch >= 0 else {
            let code = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        let thread = Thread {
            Self.inotifyLoop(fd: fd, stop: stop, path: path, configWatch: configWatch, name: name, mask: mask, onChange: onChange)
            close(fd)
        }
        #else
        let thread = Thread { Self.pollLoop(path: path, folder: isFolder, stop: stop, onChange: onChange) }
        #endif
        thread.name = "metal-agent config watcher"
        thread.start()
    }

    /// Stops the watcher thread.
    public func stop() {
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
    }

    #if os(Linux)
    /// Reads inotify events until stopped. Besides the config's own folder it watches the folder of
    /// the file the config finally points to when it is a symlink (a config kept elsewhere, or a
    /// Kubernetes ConfigMap's `..data/models.yaml`), re-resolved after every event, so edits of the
    /// target and swaps of the link are both seen.
    private static func inotifyLoop(
        fd: Int32, stop: Int32, path: String, configWatch: Int32, name: String, mask: UInt32, onChange: @Sendable () -> Void
    ) {
        let bufferSize = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        var target = name.isEmpty ? nil : watchTarget(fd: fd, path: path, mask: mask)
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
            var offset = 0
            var relevant = false
            let headerSize = MemoryLayout<inotify_event>.size
            while offset + headerSize <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameLength = Int(event.len)
                if nameLength > 0 {
                    let namePointer = buffer.advanced(by: offset + headerSize).assumingMemoryBound(to: CChar.self)
                    let eventName = String(cString: namePointer)
                    let yaml = name.isEmpty && !eventName.hasPrefix(".") && (eventName.hasSuffix(".yaml") || eventName.hasSuffix(".yml"))
                    if event.wd == configWatch, eventName == name || yaml || eventName.hasPrefix("..") {
                        // The file itself, or a Kubernetes atomic-writer swap (`..data`, `..2026_...`).
                        relevant = true
                    } else if let target, event.wd == target.watch, eventName == target.name {
                        relevant = true
                    }
                }
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { relevant = true }
                offset += headerSize + nameLength
            }
            if relevant {
                if !name.isEmpty { target = watchTarget(fd: fd, path: path, mask: mask) }
                onChange()
            }
        }
    }

    /// Watches the folder of the config's final symlink target (the config's own folder included: then
    /// inotify returns the same watch, and events for the target's name count); nil when not a symlink.
    private static func watchTarget(fd: Int32, path: String, mask: UInt32) -> (watch: Int32, name: String)? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        let real = String(cString: resolved)
        let folder = (real as NSString).deletingLastPathComponent
        guard real != path else { return nil }
        let watch = inotify_add_watch(fd, folder, mask)
        return watch >= 0 ? (watch, (real as NSString).lastPathComponent) : nil
    }
    #endif

    private static func pollLoop(path: String, folder: Bool, stop: Int32, onChange: @Sendable () -> Void) {
        func identity() -> [Int] {
            if folder {
                return ConfigSources.expand([path]).flatMap { fileIdentity($0.path) + [-1] }
            }
            return fileIdentity(path)
        }
        func fileIdentity(_ path: String) -> [Int] {
            var st = stat()
            guard stat(path, &st) == 0 else { return [] }
            #if os(Linux)
            return [Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)]
            #else
            return [Int(st.st_ino), Int(st.st_size), Int(st.st_mtimespec.tv_sec), Int(st.st_mtimespec.tv_nsec)]
            #endif
        }
        var last = identity()
        var fds = [pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
        while poll(&fds, 1, 500) == 0 || (fds[0].revents == 0) {
            let now = identity()
            if now != last {
                last = now
                onChange()
            }
        }
    }
}
