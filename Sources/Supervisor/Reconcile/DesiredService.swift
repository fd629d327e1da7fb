import ConfigModel
import Executors

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the config asks for one InferenceService, resolved against this node.
///
/// A value, but its fields live in one immutable box: a build copies each entry several times (the
/// entry memo, the diff, the reconcile's tables), and with 1,000 entries a copy of a dozen strings,
/// arrays and dictionaries cost one retain per field each time (issue 12: the largest share of an
/// edit's CPU). A copy is now one retain; a change (only while the builder makes it) copies the fields
/// into a new box.
struct DesiredService: Sendable {
    enum Action: Sendable {
        /// Run it: `resolved.port` is `spec.port`, or 0 until the agent assigns one.
        case run(ResolvedService, any RuntimeExecutor)
        /// `spec.replicas: 0` or `spec.suspend: true`.
        case stopped
        /// An entry error: it cannot run on this node as written.
        case failed(EntryDiagnostic)
    }

    private struct Fields: Sendable {
        var name: String
        var action: Action
        var baseStatus: ServiceStatus
        var specHash: String?
        var warnings: [EntryDiagnostic]
        var fetch: ModelFetch?
        var route: GatewayRoute?
    }

    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    init(
        name: String, action: Action, baseStatus: ServiceStatus, specHash: String?, warnings: [EntryDiagnostic] = [],
        fetch: ModelFetch? = nil, route: GatewayRoute? = nil
    ) {
        box = Box(
            Fields(name: name, action: action, baseStatus: baseStatus, specHash: specHash, warnings: warnings, fetch: fetch, route: route))
    }

    private mutating func change(_ body: (inout Fields) -> Void) {
        var fields = box.fields
        body(&fields)
        box = Box(fields)
    }

    /// The entry's qualified name (`namespace/name`, or `name` in the default namespace).
    var name: String {
        get { box.fields.name }
        set { change { $0.name = newValue } }
    }
    /// Run, stopped, or failed.
    var action: Action {
        get { box.fields.action }
        set { change { $0.action = newValue } }
    }
    /// The status fields known before anything runs (runtime, model, format).
    var baseStatus: ServiceStatus {
        get { box.fields.baseStatus }
        set { change { $0.baseStatus = newValue } }
    }
    /// Fingerprint of what would run (binary, argv without an assigned port, env); nil unless runnable.
    var specHash: String? {
        get { box.fields.specHash }
        set { change { $0.specHash = newValue } }
    }
    /// Things that work but are probably not what was meant (extraArgs repeating a flag the agent sets).
    var warnings: [EntryDiagnostic] {
        get { box.fields.warnings }
        set { change { $0.warnings = newValue } }
    }
    /// What must happen before the runtime starts (a download, a checksum); nil when the model is ready as it is.
    var fetch: ModelFetch? {
        get { box.fields.fetch }
        set { change { $0.fetch = newValue } }
    }
    /// What the gateway routes to this entry, and whether it starts on demand.
    var route: GatewayRoute? {
        get { box.fields.route }
        set { change { $0.route = newValue } }
    }
    /// Starts on the first request through the gateway, not with the agent.
    var onDemand: Bool { box.fields.route?.onDemand ?? false }
}
