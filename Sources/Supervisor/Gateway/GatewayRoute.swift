#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the gateway knows of one InferenceService from the config: the names a request's `model` may
/// use for it, its runtime, and whether it starts on demand. Endpoints and phases come from the status.
public struct GatewayRoute: Sendable, Hashable {
    /// The status file's name: `name` in the `default` namespace, `namespace/name` elsewhere.
    public var name: String
    /// `metadata.namespace`.
    public var namespace: String
    /// `metadata.name` alone.
    public var shortName: String
    /// `metal-agent.llmkube.dev/aliases`.
    public var aliases: [String]
    /// The canonical runtime (`llama-server`, `mlx-server`), when resolved.
    public var runtime: String?
    /// True when the entry can run on this node (no entry error, not suspended, not scaled to zero).
    public var serves: Bool
    /// Starts on the first request and stops when idle.
    public var onDemand: Bool
    /// `metal-agent.llmkube.dev/idleTimeout`; nil: no idle stop.
    public var idleTimeout: Duration?
    /// `metal-agent.llmkube.dev/exclusiveGroup`.
    public var exclusiveGroup: String?

    /// Creates a route.
    public init(
        name: String, namespace: String, shortName: String, aliases: [String] = [], runtime: String? = nil, serves: Bool = true,
        onDemand: Bool = false, idleTimeout: Duration? = nil, exclusiveGroup: String? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.shortName = shortName
        self.aliases = aliases
        self.runtime = runtime
        self.serves = serves
        self.onDemand = onDemand
        self.idleTimeout = idleTimeout
        self.exclusiveGroup = exclusiveGroup
    }
}
