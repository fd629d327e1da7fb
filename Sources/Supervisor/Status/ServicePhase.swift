/// Lifecycle phase of one InferenceService, as the status file reports it.
public enum ServicePhase: String, Sendable, Hashable, Codable {
    /// Desired, not started yet.
    case Pending
    /// The process runs; its readiness probe has not passed yet.
    case Starting
    /// Readiness passed; it serves requests.
    case Ready
    /// It exited or failed a probe and waits out its restart backoff (see `nextRestartAt`).
    case CrashLoopBackOff
    /// Its process group is being stopped (SIGTERM, grace, SIGKILL), before a restart with a new spec.
    case Terminating
    /// `spec.replicas: 0`, or the agent is shutting down.
    case Stopped
    /// It cannot run as configured (see `reason` and `message`); the agent will not retry until the entry changes.
    case Failed
}
