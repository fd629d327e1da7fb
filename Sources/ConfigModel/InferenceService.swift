/// One environment variable for a service's process (`spec.env[]`).
public struct EnvVar: Sendable, Hashable, Codable {
    /// Variable name (no `=`).
    public var name: String
    /// Its value; an absent `value` is the empty string, as in Kubernetes.
    public var value: String

    /// Creates a variable.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A `kind: InferenceService` document: one model served by one runtime process.
///
/// Field names follow LLMKube's `InferenceService` so the same YAML applies to a cluster.
public struct InferenceService: Sendable, Hashable {
    /// `metadata.name`, a DNS-1123 label; the key the agent tracks the service by.
    public var name: String
    /// `spec.modelRef`: the name of a `Model` in the same file.
    public var modelRef: String
    /// `spec.runtime`, canonicalised (`llamacpp` -> `llama-server`); nil when absent or empty, so the
    /// agent's default applies (see `resolveRuntime(_:default:enabled:)`).
    public var runtime: String?
    /// `spec.replicas`: 1 runs the service, 0 keeps the entry but runs nothing. Default 1.
    public var replicas: Int
    /// `spec.contextSize` in tokens; nil lets the executor choose its default.
    public var contextSize: Int?
    /// `spec.parallelSlots`: concurrent request slots; nil or 1 means one.
    public var parallelSlots: Int?
    /// `spec.flashAttention`; nil lets the runtime decide.
    public var flashAttention: Bool?
    /// `spec.jinja`: use the model's chat template (llama-server `--jinja`).
    public var jinja: Bool?
    /// `spec.extraArgs`: appended last to the runtime's argv, verbatim.
    public var extraArgs: [String]
    /// `spec.env`: set in the process environment on top of the agent's own.
    public var env: [EnvVar]
    /// `spec.port`: a fixed TCP port; nil lets the agent assign a free one.
    public var port: Int?
    /// `spec.terminationGracePeriodSeconds`: seconds between SIGTERM and SIGKILL on stop.
    /// Default 30, the Kubernetes pod default.
    public var terminationGracePeriodSeconds: Int
    /// `spec.restartPolicy`: `Always` (default), `OnFailure` or `Never`.
    public var restartPolicy: RestartPolicy = .Always
    /// `spec.startupTimeoutSeconds`: seconds a start may take before the process is stopped and backed
    /// off; nil uses the runtime's default (600 s: large models take minutes to load).
    public var startupTimeoutSeconds: Int?
    /// Where the document starts in the file.
    public var mark: SourceMark

    /// Where each field written in the file starts, keyed by its path (`spec.runtime`, `spec.source`, ...),
    /// so that later checks can point at the exact field.
    public var fieldMarks: [String: SourceMark] = [:]

    /// Kubernetes' default `terminationGracePeriodSeconds` (30 s).
    public static let defaultTerminationGracePeriodSeconds = 30

    /// Creates an entry; defaults match a document that leaves the fields out.
    public init(
        name: String, modelRef: String, runtime: String? = nil, replicas: Int = 1, contextSize: Int? = nil,
        parallelSlots: Int? = nil, flashAttention: Bool? = nil, jinja: Bool? = nil, extraArgs: [String] = [],
        env: [EnvVar] = [], port: Int? = nil,
        terminationGracePeriodSeconds: Int = InferenceService.defaultTerminationGracePeriodSeconds,
        mark: SourceMark = SourceMark(line: 1, column: 1)
    ) {
        self.name = name
        self.modelRef = modelRef
        self.runtime = runtime
        self.replicas = replicas
        self.contextSize = contextSize
        self.parallelSlots = parallelSlots
        self.flashAttention = flashAttention
        self.jinja = jinja
        self.extraArgs = extraArgs
        self.env = env
        self.port = port
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        self.mark = mark
    }
}
