#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who answers on a runtime's port: the runtime's own process tree, or a stranger.
///
/// A readiness probe only sees that *something* answers HTTP on the port. Between the agent's check that
/// an agent-assigned port is free and the runtime's own `bind` (seconds, for a runtime that loads its
/// model first, as `mlx_lm.server` does), another program can take the port: a second agent that picked
/// the same free port, or any server. The probe then passes on that program's answers, the entry shows
/// Ready, and its requests reach the stranger while the runtime fails to bind. So the agent asks, once,
/// when readiness first passes, whose socket listens there (`SupervisionLoop`).
enum PortListener: Equatable, Sendable {
    /// A process of the runtime's tree (the guard, the runtime, or one of their descendants) holds a
    /// socket that listens on the port.
    case runtime
    /// Sockets listen on the port, and none of them belongs to the runtime's tree.
    case stranger
    /// The agent cannot tell, and trusts the probe: no socket diagnostics on this platform or kernel, a
    /// process of the tree whose descriptors it may not read, or no listening socket at all (the probe
    /// reached the runtime another way).
    case unknown

    /// Whose socket listens on TCP `port` (any address): the tree rooted at `root` (the guard's pid, or
    /// the runtime's when it runs unguarded), or a stranger's.
    ///
    /// Linux: the listening sockets' inodes from sock_diag(7), matched against the `socket:[inode]` links
    /// of `/proc/<pid>/fd` for `root` and its descendants (the kernel's children lists); a few system
    /// calls per process of the tree. Elsewhere: `.unknown`.
    static func owner(of port: Int, tree root: pid_t) -> PortListener {
        #if os(Linux)
        return ownerOnLinux(of: port, tree: root)
        #else
        return .unknown
        #endif
    }
}
