/// How a runtime process ended.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    /// It called exit with this code.
    case exited(Int32)
    /// A signal ended it (signal number, e.g. 9 for SIGKILL).
    case signaled(Int32)
    /// It never ran: exec failed (missing binary, no permission), with the reason.
    case spawnFailed(String)

    /// The exit code, or 128 + signal the way shells report it; nil when it never ran.
    public var exitCode: Int32? {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        case .spawnFailed: return nil
        }
    }

    /// A short reason in CamelCase, in the manner of Kubernetes' `lastState.terminated.reason`.
    public var reason: Reason {
        switch self {
        case .exited(0): return .Completed
        case .exited: return .Error
        case .signaled(9): return .Killed
        case .signaled: return .Signaled
        case .spawnFailed: return .SpawnFailed
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        case .spawnFailed(let why): return "could not start: \(why)"
        }
    }
}
