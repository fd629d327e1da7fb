/// Why an InferenceService is in its phase, or why its last process ended: the status file's `reason`
/// and `lastTerminationReason`, and the `[Reason]` of an entry error or warning.
///
/// Raw values are the CamelCase strings the status file shows, in the manner of Kubernetes' container
/// state reasons (`CrashLoopBackOff`'s `reason`, `lastState.terminated.reason`: `Completed`, `Error`,
/// `OOMKilled`...). Code switches over the cases; it never compares the strings.
public enum Reason: String, Sendable, Hashable, Codable, CaseIterable {
    // MARK: Entry errors (the entry is Failed until its spec or the node changes)
    /// `spec.runtime` (or the agent's default) names a runtime this agent was not given a binary for.
    case RuntimeNotEnabled
    /// `spec.runtime` names a runtime no executor exists for (vllm, tgi...).
    case RuntimeNotSupported
    /// The Model's format does not suit the runtime (GGUF on mlx-server, MLX on llama-server).
    case FormatMismatch
    /// The Model's format is one no runtime here serves.
    case FormatNotSupported
    /// The Model, its file or folder, or a draft model is missing.
    case ModelNotFound
    /// `spec.source` uses a scheme the agent cannot fetch (`pvc://`, `s3://`), or a form that does not
    /// suit the format.
    case UnsupportedModelSource

    // MARK: Warnings (nothing fails)
    /// An argument in `spec.extraArgs` overrides a flag the agent sets from the spec.
    case OverriddenFlag
    /// A field that matters only in a cluster (`spec.resources`, `tolerations`...) is ignored on one node.
    case IgnoredField
    /// A document of a kind other than Model and InferenceService is skipped.
    case IgnoredKind
    /// Two entries ask for the same `endpoint.port`.
    case PortConflict

    // MARK: Not running, as the spec asks
    /// `spec.suspend: true`.
    case Suspended
    /// `spec.replicas: 0`.
    case ScaledToZero

    // MARK: Before the start (phase Pending)
    /// The model is being downloaded into the model store.
    case Downloading
    /// A local model's SHA-256 is being checked against `spec.sha256`.
    case VerifyingChecksum
    /// The download failed for good (an HTTP error status, retries used up, a hub listing that failed).
    case ModelDownloadFailed
    /// The file's SHA-256 is not `spec.sha256`.
    case ChecksumMismatch
    /// The model store's file system has less free space than the download needs.
    case InsufficientStorage
    /// The estimated memory does not fit the node's budget next to the entries already admitted.
    case InsufficientMemory

    // MARK: A start or a run that failed (phase CrashLoopBackOff, or Failed under restartPolicy)
    /// The entry's port is held by another process.
    case PortInUse
    /// No free port was left in the agent's range for an entry without `endpoint.port`.
    case NoFreePort
    /// The runtime could not be executed (missing binary, no permission).
    case SpawnFailed
    /// The process ended before its readiness probe passed.
    case ExitedBeforeReady
    /// The readiness probe did not pass within the startup timeout; the process was stopped.
    case StartupTimeout
    /// The process ended while Ready.
    case Exited
    /// The liveness probe failed its threshold; the process was stopped.
    case LivenessFailed

    // MARK: How a process ended (`lastTerminationReason`), Kubernetes' terminated reasons
    /// Exit code 0; also the reason of an entry that ended cleanly and is not restarted.
    case Completed
    /// A non-zero exit code.
    case Error
    /// SIGKILL.
    case Killed
    /// Another signal.
    case Signaled

    // MARK: On demand (the gateway)
    /// An on-demand entry with no request for its idle timeout, or not asked for yet.
    case Idle
    /// An on-demand entry stopped so that another of its exclusive group can run.
    case ExclusiveGroup
    /// An on-demand entry stopped, idle, to free memory for another entry's start.
    case MemoryReclaimed
    /// A gateway answer (503): another entry of the exclusive group is serving requests.
    case ExclusiveGroupBusy

    // MARK: The agent
    /// The agent is shutting down (SIGTERM, SIGINT): every entry is stopped.
    case AgentShutdown
    /// A second signal during shutdown killed every entry at once.
    case AgentKilled

    /// A reason this build does not know, read from a status file a newer agent wrote.
    case Unknown

    /// Decodes the string; one this build does not know becomes `Unknown` rather than an error, so an
    /// older reader still reads a newer agent's status file.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = Reason(rawValue: text) ?? .Unknown
    }
}
