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
    /// `metadata.name`, a DNS-1123 subdomain.
    public var name: String
    /// `metadata.namespace` (`default` when absent).
    public var namespace: String = ObjectName.defaultNamespace
    /// `name` in the `default` namespace, `namespace/name` elsewhere: the key the agent tracks the
    /// service by (status `name`, log file `<qualifiedName>.log`).
    public var qualifiedName: String { ObjectName.qualified(namespace: namespace, name: name) }
    /// `spec.modelRef`: the name of a `Model` in the same namespace, in any config file.
    public var modelRef: String
    /// `spec.runtime` (or the `metal-agent.llmkube.dev/runtime` annotation), canonicalised
    /// (`llamacpp` -> `llama-server`); a known runtime this agent cannot run is kept as written; nil
    /// when absent or empty, so the agent's default applies (see `resolveRuntime(_:default:enabled:)`).
    public var runtime: String?
    /// `spec.suspend`: true runs nothing, like `replicas: 0` (reason `Suspended`).
    public var suspend: Bool = false
    /// llama-server tuning from the CRD's node fields (`cacheTypeK`, `batchSize`, ...); see `RuntimeTuning`.
    public var tuning = RuntimeTuning()
    /// `spec.bindAddress`: the address this runtime binds, over the agent's `--host`.
    public var bindAddress: String?
    /// Where `port` came from: `spec.port`, the annotation, `spec.endpoint.port` or `spec.containerPort`.
    public var portSource: String?
    /// Cluster fields written in this document, and node fields no runtime here acts on (one
    /// `IgnoredField` warning lists them).
    public var ignoredFields: [IgnoredFieldUse] = []
    /// Node fields written (dotted spec paths, e.g. `cacheTypeK`, `ropeScaling.type`).
    public var nodeFields: Set<String> = []
    /// The file that defines it.
    public var file: String = ""
    /// `spec.replicas` (0 to 10): 0 keeps the entry but runs nothing; any other count runs one process. Default 1.
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
    /// The TCP port: `spec.port` (or its annotation), else `spec.endpoint.port`, else `spec.containerPort`;
    /// nil lets the agent assign a free one.
    public var port: Int?
    /// `spec.terminationGracePeriodSeconds`: seconds between SIGTERM and SIGKILL on stop.
    /// Default 30, the Kubernetes pod default.
    public var terminationGracePeriodSeconds: Int
    /// `spec.restartPolicy`: `Always` (default), `OnFailure` or `Never`.
    public var restartPolicy: RestartPolicy = .Always
    /// `spec.startupTimeoutSeconds`: seconds a start may take before the process is stopped and backed
    /// off; nil uses the runtime's default (600 s: large models take minutes to load).
    public var startupTimeoutSeconds: Int?
    /// `metal-agent.llmkube.dev/idleTimeout`: stop the entry after this long with no request through the
    /// gateway; set, the entry starts on demand. nil: no idle stop.
    public var idleTimeout: Duration?
    /// `metal-agent.llmkube.dev/aliases`: extra model names the gateway routes to this entry.
    public var aliases: [String] = []
    /// `metal-agent.llmkube.dev/exclusiveGroup`: entries of one group never run at the same time.
    public var exclusiveGroup: String?
    /// True when the entry starts on the first request through the gateway, not with the agent
    /// (an idle timeout or an exclusive group is set).
    public var onDemand: Bool { idleTimeout != nil || exclusiveGroup != nil }
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

/// The InferenceService fields that tune llama-server (and, where they have one, the MLX servers), as
/// the CRD names them. nil / empty leaves the runtime's own default.
public struct RuntimeTuning: Sendable, Hashable {
    /// `cacheTypeCustomK` when set, else `cacheTypeK`: `--cache-type-k`.
    public var cacheTypeK: String?
    /// `cacheTypeCustomV` when set, else `cacheTypeV`: `--cache-type-v`.
    public var cacheTypeV: String?
    /// `batchSize`: `--batch-size`.
    public var batchSize: Int?
    /// `uBatchSize`: `--ubatch-size`.
    public var uBatchSize: Int?
    /// `moeCPUOffload`: `--cpu-moe` when true.
    public var moeCPUOffload: Bool?
    /// `moeCPULayers`: `--n-cpu-moe`.
    public var moeCPULayers: Int?
    /// `noKvOffload`: `--no-kv-offload` when true.
    public var noKvOffload: Bool?
    /// `noWarmup`: `--no-warmup` when true.
    public var noWarmup: Bool?
    /// `reasoningBudget`: `--reasoning-budget` (0 turns thinking output off).
    public var reasoningBudget: Int?
    /// `reasoningBudgetMessage`: `--reasoning-budget-message`.
    public var reasoningBudgetMessage: String?
    /// `metadataOverrides`: one `--override-kv` each.
    public var metadataOverrides: [String] = []
    /// `tensorOverrides`: one `--override-tensor` each.
    public var tensorOverrides: [String] = []
    /// `ropeScaling.type`: `--rope-scaling`.
    public var ropeScalingType: String?
    /// `ropeScaling.factor`: `--rope-scale`.
    public var ropeScalingFactor: String?
    /// `ropeScaling.originalContext`: `--yarn-orig-ctx`.
    public var ropeScalingOriginalContext: Int?
    /// `mode`: `chat`, `embedding` or `rerank`.
    public var mode: String?
    /// `speculativeDecoding.type`, as written.
    public var speculativeType: String?
    /// `speculativeDecoding.draftModelRef`: a Model in the same namespace.
    public var draftModelRef: String?
    /// `speculativeDecoding.draftModel`: a file beside the model.
    public var draftModel: String?
    /// `speculativeDecoding.nDraftMax`: `--spec-draft-n-max`.
    public var nDraftMax: Int?
    /// `speculativeDecoding.pMin`: `--spec-draft-p-min`.
    public var pMin: Double?

    /// No tuning: every runtime default.
    public init() {}
}
