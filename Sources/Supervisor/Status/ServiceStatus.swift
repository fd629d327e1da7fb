/// One `services[]` element of the status file. Every key is always written; absent values are `null`.
public struct ServiceStatus: Sendable, Hashable, Codable {
    /// `metadata.name` in the `default` namespace, `namespace/name` elsewhere.
    public var name: String
    /// `metadata.namespace` (`default` when the entry names none).
    public var namespace: String?
    /// Canonical runtime name, or the name as resolved when the runtime is unknown.
    public var runtime: String?
    /// `spec` when `spec.runtime` chose the runtime, `default` when the agent's `--runtime` did.
    public var runtimeSource: String?
    /// The Model's `metadata.name`.
    public var model: String
    /// The model's local path.
    public var modelPath: String?
    /// `gguf` or `mlx`.
    public var format: String?
    /// Where it is in its lifecycle.
    public var phase: ServicePhase
    /// True while the readiness probe passes.
    public var ready: Bool
    /// The runtime process's pid, while one runs.
    public var pid: Int32?
    /// Its process group id, while one runs: the pid of the `metal-agent guard` that runs it (Linux),
    /// or the runtime's own pid (no guard).
    public var processGroup: Int32?
    /// TCP port it listens on.
    public var port: Int?
    /// `http://host:port`.
    public var endpoint: String?
    /// How many times the agent restarted it since the entry last changed.
    public var restarts: Int
    /// Exit code of the last run (128 + signal when a signal ended it).
    public var lastExitCode: Int32?
    /// The signal that ended the last run, if one did.
    public var lastSignal: Int32?
    /// Kubernetes-style reason of the last termination (`Error`, `Completed`, `Killed`, `SpawnFailed`, ...).
    public var lastTerminationReason: Reason?
    /// Why the service is in its phase, CamelCase (`RuntimeNotEnabled`, `ModelNotFound`, `FormatMismatch`, ...).
    public var reason: Reason?
    /// A sentence for people.
    public var message: String?
    /// ISO 8601 time of the next restart while in CrashLoopBackOff.
    public var nextRestartAt: String?
    /// ISO 8601 time the current process was started.
    public var startedAt: String?
    /// Fingerprint of what runs; changes when the entry (or its Model, runtime or binary) changes.
    public var specHash: String?
    /// Where the runtime's stdout and stderr go.
    public var logFile: String?
    /// The entry's fields as resolved (`spec.contextSize` -> `512`, `model.source` -> path, `binary` -> path),
    /// so `metal-agent plan` can say which fields an edit changes.
    public var spec: [String: String]?
    /// While the entry waits for its model to download (phase `Pending`, reason `Downloading`): bytes done,
    /// total and rate; null otherwise.
    public var download: DownloadProgress?
    /// The memory this entry is expected to need, in bytes (see `MemoryEstimate`), once estimated.
    public var memoryEstimateBytes: Int64?
    /// True when the entry starts on the first request through the gateway and stops when idle
    /// (`metal-agent.llmkube.dev/idleTimeout` or `exclusiveGroup`).
    public var onDemand: Bool?
    /// ISO 8601 time an on-demand entry that runs will be stopped if no request comes before; null while
    /// requests are in flight, when it does not run, or when it has no idle timeout.
    public var idleDeadline: String?
    /// Requests the gateway is forwarding to this entry now (waiting for it to be Ready included).
    public var requestsInFlight: Int?

    /// Creates a status with nothing known yet but the name, model and phase.
    public init(name: String, model: String, phase: ServicePhase) {
        self.name = name
        self.model = model
        self.phase = phase
        self.ready = false
        self.restarts = 0
    }

    enum CodingKeys: String, CodingKey {
        case name, namespace, runtime, runtimeSource, model, modelPath, format, phase, ready, pid, processGroup, port, endpoint, restarts
        case lastExitCode, lastSignal, lastTerminationReason, reason, message, nextRestartAt, startedAt, specHash, logFile, spec
        case download, memoryEstimateBytes, onDemand, idleDeadline, requestsInFlight
    }

    /// Writes every key, with `null` for absent values.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(namespace, forKey: .namespace)
        try c.encode(runtime, forKey: .runtime)
        try c.encode(runtimeSource, forKey: .runtimeSource)
        try c.encode(model, forKey: .model)
        try c.encode(modelPath, forKey: .modelPath)
        try c.encode(format, forKey: .format)
        try c.encode(phase, forKey: .phase)
        try c.encode(ready, forKey: .ready)
        try c.encode(pid, forKey: .pid)
        try c.encode(processGroup, forKey: .processGroup)
        try c.encode(port, forKey: .port)
        try c.encode(endpoint, forKey: .endpoint)
        try c.encode(restarts, forKey: .restarts)
        try c.encode(lastExitCode, forKey: .lastExitCode)
        try c.encode(lastSignal, forKey: .lastSignal)
        try c.encode(lastTerminationReason, forKey: .lastTerminationReason)
        try c.encode(reason, forKey: .reason)
        try c.encode(message, forKey: .message)
        try c.encode(nextRestartAt, forKey: .nextRestartAt)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(specHash, forKey: .specHash)
        try c.encode(logFile, forKey: .logFile)
        try c.encode(spec, forKey: .spec)
        try c.encode(download, forKey: .download)
        try c.encode(memoryEstimateBytes, forKey: .memoryEstimateBytes)
        try c.encode(onDemand, forKey: .onDemand)
        try c.encode(idleDeadline, forKey: .idleDeadline)
        try c.encode(requestsInFlight, forKey: .requestsInFlight)
    }
}
