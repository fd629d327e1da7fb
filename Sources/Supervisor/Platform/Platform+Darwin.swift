#if canImport(Darwin)
/// The mechanisms of macOS (see `Platform+Linux.swift` for how one `Platform` is chosen).
public enum Platform {
    /// `capabilities.node.os` in the status file.
    public static let name = "macos"
    /// macOS has no child subreaper (`prctl` is Linux's): the guard's lifeline socket stops a runtime when
    /// the agent dies, and helpers that left the runtime's process group are not tracked.
    public static let tracksDetachedHelpers = false
    /// The config watcher's source of change events: kqueue `EVFILT_VNODE` on the folder and the file.
    typealias ChangeMonitor = KqueueMonitor
}
#endif
