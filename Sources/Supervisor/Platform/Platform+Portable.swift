#if os(Linux) && PORTABLE_POSIX
/// The mechanisms of the portable configuration (`METAL_AGENT_PORTABLE=1`): what the macOS build uses
/// wherever it is made of portable POSIX parts, selected on Linux so CI runs it (see `Platform+Linux.swift`).
public enum Platform {
    /// `capabilities.node.os` in the status file.
    public static let name = "linux"
    /// No child subreaper and no orphan sweep (macOS has neither); the guard's lifeline socket is what
    /// stops a runtime when the agent dies. Helpers that left the runtime's process group are not tracked.
    public static let tracksDetachedHelpers = false
    /// The config watcher's source of change events: polling the file's identity.
    typealias ChangeMonitor = PollingMonitor
}
#endif
