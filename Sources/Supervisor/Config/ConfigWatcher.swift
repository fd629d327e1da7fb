#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Watches the config file (or a folder of them) and calls back when it may have changed, on a thread of
/// its own. How it learns of changes is the platform's `ChangeMonitor` (`Platform.ChangeMonitor`: inotify
/// on Linux, kqueue on macOS, polling in the portable configuration). The callback may fire for no real
/// change; the reconciler compares content before acting.
public final class ConfigWatcher: Sendable {
    private let path: String
    private let folder: Bool
    private let onChange: @Sendable (ConfigChange) -> Void
    private let stopPipe: (read: Int32, write: Int32)

    /// - Parameters:
    ///   - path: the config file, or a folder of them.
    ///   - folder: true when `path` is a folder (an event for any `*.yaml` or `*.yml` in it counts).
    ///   - onChange: called from the watcher's own thread, with what the platform knows of the change.
    public init(path: String, folder: Bool = false, onChange: @escaping @Sendable (ConfigChange) -> Void) {
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
    /// - Throws: `POSIXError` when the platform cannot watch the path (for inotify: the folder).
    public func start() throws {
        let monitor = try Platform.ChangeMonitor(path: path, folder: folder)
        let onChange = self.onChange
        let stop = stopPipe.read
        DetachedThread.start(name: "config watcher") { monitor.run(stop: stop, onChange: onChange) }
    }

    /// Stops the watcher thread.
    public func stop() {
        var byte: UInt8 = 1
        _ = write(stopPipe.write, &byte, 1)
    }
}
