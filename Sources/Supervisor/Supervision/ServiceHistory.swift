/// What an entry's status remembers of its earlier runs: the restart count and how the last run ended.
/// Carried to the entry's next controller when the entry only moves to another port (its
/// agent-assigned port was taken, or another entry's `spec.port` claims it): the entry is the same, as
/// a Kubernetes container keeps its `restartCount` and `lastState` across restarts in one pod. An edit
/// of the entry's spec starts from nothing, as a new pod does.
struct ServiceHistory: Sendable, Equatable {
    /// Restarts so far.
    var restarts = 0
    /// The last run's exit code, when it exited.
    var lastExitCode: Int32?
    /// The signal that ended the last run, when one did.
    var lastSignal: Int32?
    /// Why the last run ended.
    var lastTerminationReason: Reason?

    init() {}

    /// The history `status` shows.
    init(of status: ServiceStatus) {
        restarts = status.restarts
        lastExitCode = status.lastExitCode
        lastSignal = status.lastSignal
        lastTerminationReason = status.lastTerminationReason
    }

    /// Records how a run ended: its exit code, its signal (nil when it exited), and why.
    mutating func record(_ termination: Termination) {
        lastExitCode = termination.exitCode
        if case .signaled(let signal) = termination { lastSignal = signal } else { lastSignal = nil }
        lastTerminationReason = termination.reason
    }

    /// Writes this history into `status`.
    func apply(to status: inout ServiceStatus) {
        status.restarts = restarts
        status.lastExitCode = lastExitCode
        status.lastSignal = lastSignal
        status.lastTerminationReason = lastTerminationReason
    }
}
