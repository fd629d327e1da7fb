/// When the agent restarts a service's process after it ends (`spec.restartPolicy`), with Kubernetes'
/// values and meaning (Pod `restartPolicy`).
public enum RestartPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Restart after every exit, successful or not, and after failed probes. The default.
    case Always
    /// Restart after a non-zero exit, a signal or a failed probe; an exit with code 0 is final.
    case OnFailure
    /// Never restart: the first exit or failed probe is final (until the entry is edited).
    case Never
}
