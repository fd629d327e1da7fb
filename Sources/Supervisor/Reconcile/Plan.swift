import ConfigModel
import Executors

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What applying a config file to a running agent would do, entry by entry (`metal-agent plan`).
///
/// Computed exactly as the agent reconciles: the file is resolved against the running agent's
/// capabilities (runtimes, binaries, default runtime, host, from its status file), and each entry's
/// fingerprint is compared with the `specHash` of what runs.
public struct Plan: Sendable, Hashable, Codable {
    /// What happens to one entry.
    public enum Action: String, Sendable, Hashable, Codable {
        /// Not running now; would be started.
        case start
        /// Running now; would be stopped (removed from the file, or `replicas: 0`).
        case stop
        /// Running now with another spec; would be stopped and started again.
        case restart
        /// Unchanged; the same process keeps running.
        case keep
        /// Would fail with an entry error and not run (stopped first when it runs now; its reasons say so).
        case fail
    }

    /// One entry of the plan.
    public struct Step: Sendable, Hashable, Codable {
        /// InferenceService name.
        public var service: String
        public var action: Action
        /// Resolved runtime, when known.
        public var runtime: String?
        /// `spec` or `default`, when known.
        public var runtimeSource: String?
        /// Why: changed fields (`spec.contextSize: 512 -> 1024`), `new entry`, `removed from config`, or the entry error.
        public var reasons: [String]
    }

    /// The file planned.
    public var file: String
    /// Generation of the config the agent runs now.
    public var currentGeneration: Int
    /// File errors: when present, applying the file would be rejected and nothing would change.
    public var fileErrors: [ConfigError]
    /// Steps in file order, then the entries that would be removed.
    public var steps: [Step]
    /// Warnings about the file (extraArgs overriding agent flags).
    public var warnings: [EntryDiagnostic]

    /// Plans `bytes` (the content of `file`) against the agent whose status is `status`.
    public static func make(_ bytes: [UInt8], file: String, against status: AgentStatus) -> Plan {
        make(files: [(file, bytes)], against: status)
    }

    /// Plans several files (`--config` repeated or a folder, already expanded) as one config.
    public static func make(files: [(path: String, bytes: [UInt8])], against status: AgentStatus) -> Plan {
        var plan = Plan(file: files.first?.path ?? "", currentGeneration: status.config.generation, fileErrors: [], steps: [], warnings: [])
        let (config, errors) = ConfigLoader.load(files: files)
        if !errors.isEmpty {
            plan.fileErrors = errors
            return plan
        }
        var node = NodeRuntimes(
            defaultRuntime: status.capabilities.defaultRuntime, binaries: status.capabilities.binaries, host: status.capabilities.host)
        node.versions = (status.capabilities.versions ?? [:]).compactMapValues { RuntimeVersion.parse($0) }
        // The running agent's own listeners, from where its status file says they listen.
        for (endpoint, listener) in [(status.operatorEndpoint, "operator endpoint (--listen)"), (status.gatewayEndpoint, "gateway (--gateway-listen)")] {
            if let port = endpoint.flatMap(URL.init(string:))?.port { node.reservedPorts[port] = "the agent's \(listener) at \(endpoint ?? "")" }
        }
        let builder = DesiredStateBuilder(node: node)
        let desired = builder.build(config)
        plan.warnings = builder.configWarnings(config) + desired.flatMap(\.warnings)
        let running = Dictionary(status.services.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let activePhases: Set<ServicePhase> = [.Pending, .Starting, .Ready, .CrashLoopBackOff, .Terminating]

        for entry in desired {
            let current = running[entry.name]
            let isActive = current.map { activePhases.contains($0.phase) } ?? false
            var step = Step(service: entry.name, action: .keep, runtime: entry.baseStatus.runtime, runtimeSource: entry.baseStatus.runtimeSource, reasons: [])
            switch entry.action {
            case .run:
                if let current, !isActive, current.specHash == entry.specHash, current.phase == .Stopped || current.phase == .Failed {
                    // Ended under its restartPolicy with this very spec: the agent leaves it until the entry changes.
                    step.reasons = ["ended (\(current.phase.rawValue), \(current.reason?.rawValue ?? "no reason")); unchanged, so it stays ended"]
                } else if !isActive {
                    step.action = .start
                    step.reasons = [current == nil ? "new entry" : "not running now (\(current!.phase.rawValue))"]
                } else if current?.specHash != entry.specHash {
                    step.action = .restart
                    step.reasons = changes(from: current?.spec ?? [:], to: entry.baseStatus.spec ?? [:])
                    if step.reasons.isEmpty { step.reasons = ["launch description changed"] }
                }
            case .stopped:
                if isActive {
                    step.action = .stop
                    step.reasons = ["spec.replicas: 0"]
                }
            case .failed(let diagnostic):
                step.action = .fail
                step.reasons = ["\(diagnostic.reason): \(diagnostic.error.message)" + (isActive ? " (running now: it would be stopped)" : "")]
            }
            plan.steps.append(step)
        }
        let names = Set(desired.map(\.name))
        for service in status.services where !names.contains(service.name) {
            let active = activePhases.contains(service.phase)
            plan.steps.append(
                Step(
                    service: service.name, action: active ? .stop : .keep, runtime: service.runtime, runtimeSource: service.runtimeSource,
                    reasons: [active ? "removed from config" : "removed from config (not running)"]))
        }
        return plan
    }

    /// `field: old -> new` for every field that differs, sorted by field.
    static func changes(from old: [String: String], to new: [String: String]) -> [String] {
        Set(old.keys).union(new.keys).sorted().compactMap { key in
            let a = old[key] ?? "unset", b = new[key] ?? "unset"
            return a == b ? nil : "\(key): \(a) -> \(b)"
        }
    }
}
