#if os(Linux) && !PORTABLE_POSIX
/// The mechanisms of the platform this build is for: Linux, with everything the kernel offers.
///
/// Exactly one `Platform+….swift` file is compiled: this one on Linux, `Platform+Darwin.swift` on macOS,
/// `Platform+Portable.swift` on Linux built with `METAL_AGENT_PORTABLE=1` (the macOS mechanisms that are
/// made of portable POSIX parts, run on Linux so CI exercises them).
public enum Platform {
    /// `capabilities.node.os` in the status file.
    public static let name = "linux"
    /// The agent is a child subreaper (`PR_SET_CHILD_SUBREAPER`) and sweeps what its guards leave, and
    /// the guard walks its runtime's descendants in `/proc`: helpers that left the runtime's process
    /// group (`setsid`, double fork) are stopped with it.
    public static let tracksDetachedHelpers = true
    /// The config watcher's source of change events: inotify on the config's folder.
    typealias ChangeMonitor = InotifyMonitor
}
#endif
