/// A source of "the config may have changed" events for `ConfigWatcher`, one per platform
/// (`Platform.ChangeMonitor`): inotify on Linux, kqueue on macOS, polling in the portable configuration.
///
/// A monitor may report a change that is none (the reconciler compares content before acting), but it
/// must not miss one: rename-saves, delete-then-create, in-place writes and symlink swaps all count.
protocol ChangeMonitor: Sendable {
    /// Prepares the watch of `path` (a config file, or with `folder` a folder whose `*.yaml`/`*.yml` files
    /// count), so that a failure reaches the caller of `ConfigWatcher.start()`.
    /// - Throws: `POSIXError` when the platform cannot watch the path.
    init(path: String, folder: Bool) throws

    /// Blocks on the calling thread, calling `onChange` after each possible change, until `stop` (the
    /// read end of a pipe) becomes readable; then releases what the watch holds.
    func run(stop: Int32, onChange: @Sendable (ConfigChange) -> Void)
}

/// What a monitor knows about a change.
public enum ConfigChange: Sendable, Equatable {
    /// Every event was the end of a write (`IN_CLOSE_WRITE`) or a file moved into place (`IN_MOVED_TO`,
    /// a rename-save or a `..data` swap): the content is whole, and can be read at once.
    case complete
    /// Anything else (a create, a delete, an attribute change, or a platform that cannot tell): more
    /// events may follow within milliseconds, so the reader lets them settle first.
    case settling
}
