/// A `kind: Model` document: a named set of weights on this node.
public struct Model: Sendable, Hashable {
    /// `metadata.name`, a DNS-1123 subdomain.
    public var name: String
    /// `metadata.namespace` (`default` when absent).
    public var namespace: String = ObjectName.defaultNamespace
    /// `name` in the `default` namespace, `namespace/name` elsewhere: the key in `AgentConfig.models`.
    public var qualifiedName: String { ObjectName.qualified(namespace: namespace, name: name) }
    /// `spec.source`, typed by `ModelSource.parse`: relative paths are taken from the config file's folder, `file://` URLs become paths.
    public var source: ModelSource
    /// `spec.format`; `gguf` when absent.
    public var format: ModelFormat
    /// `spec.sha256`, 64 lowercase hex digits, when given.
    public var sha256: String?
    /// `spec.hardware.gpu.layers`: layers to offload to the GPU, when given.
    public var gpuLayers: Int?
    /// `spec.mmproj`, resolved like `source` (llama-server `--mmproj`).
    public var mmproj: ModelSource?
    /// `spec.hardware.gpu.count`, when given.
    public var gpuCount: Int?
    /// `spec.hardware.gpu.sharding.strategy`, when given.
    public var shardingStrategy: String?
    /// `spec.hardware.gpu.sharding.layerSplit` (`0-15`, ...).
    public var layerSplit: [String] = []
    /// `spec.hardware.memoryBudget` in bytes, when given: the budget its entries are admitted against.
    public var memoryBudgetBytes: Int64?
    /// `spec.hardware.memoryFraction`, when given: the share of physical memory its entries are admitted against.
    public var memoryFraction: Double?
    /// Cluster fields written in this document (one `IgnoredField` warning lists them).
    public var ignoredFields: [IgnoredFieldUse] = []
    /// The file that defines it.
    public var file: String = ""
    /// Where the document starts in the file.
    public var mark: SourceMark

    /// Where each field written in the file starts, keyed by its path (`spec.runtime`, `spec.source`, ...),
    /// so that later checks can point at the exact field.
    public var fieldMarks: [String: SourceMark] = [:]

    /// Creates a Model; `source` should already be resolved (absolute path or remote URL).
    public init(
        name: String, source: ModelSource, format: ModelFormat = .gguf, sha256: String? = nil,
        gpuLayers: Int? = nil, mark: SourceMark = SourceMark(line: 1, column: 1)
    ) {
        self.name = name
        self.source = source
        self.format = format
        self.sha256 = sha256
        self.gpuLayers = gpuLayers
        self.mark = mark
    }
}
