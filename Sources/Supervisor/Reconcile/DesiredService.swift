import ConfigModel
import Executors
import Foundation

/// What the config asks for one InferenceService, resolved against this node.
struct DesiredService: Sendable {
    enum Action: Sendable {
        /// Run it: `resolved.port` is `spec.port`, or 0 until the agent assigns one.
        case run(ResolvedService, any RuntimeExecutor)
        /// `spec.replicas: 0` or `spec.suspend: true`.
        case stopped
        /// An entry error: it cannot run on this node as written.
        case failed(EntryDiagnostic)
    }

    var name: String
    var action: Action
    /// The status fields known before anything runs (runtime, model, format).
    var baseStatus: ServiceStatus
    /// Fingerprint of what would run (binary, argv without an assigned port, env); nil unless runnable.
    var specHash: String?
    /// Things that work but are probably not what was meant (extraArgs repeating a flag the agent sets).
    var warnings: [EntryDiagnostic] = []
    /// What must happen before the runtime starts (a download, a checksum); nil when the model is ready as it is.
    var fetch: ModelFetch?
    /// What the gateway routes to this entry, and whether it starts on demand.
    var route: GatewayRoute?
    /// Starts on the first request through the gateway, not with the agent.
    var onDemand: Bool { route?.onDemand ?? false }
}
