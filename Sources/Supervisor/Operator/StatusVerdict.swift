/// Whether an agent's status document says "everything that should run is Ready": the rule behind
/// `metal-agent status` and `wait` exit codes and `GET /readyz`.
///
/// An entry should run unless it was stopped on purpose: `spec.replicas: 0` or `spec.suspend`
/// (phase `Stopped`, reasons `ScaledToZero`, `Suspended`), or it completed under `restartPolicy`
/// `OnFailure`/`Never` (phase `Stopped`, reason `Completed`). Every other entry, `Failed` ones
/// included, counts against readiness until it is `Ready`. A document written before the first good
/// config was applied (generation 0) is not ready.
public struct StatusVerdict: Sendable, Hashable {
    /// Names (as the status file writes them) of entries that should run and are not Ready, in file order.
    public var notReady: [String]
    /// Entries that should run.
    public var shouldRun: Int
    /// False while no config was applied yet (generation 0).
    public var configApplied: Bool
    /// Names asked for that the status lists no entry of (also in `notReady`).
    public var missing: [String] = []

    /// True when every entry that should run is Ready and a config was applied.
    public var allReady: Bool { notReady.isEmpty && configApplied }

    /// Judges `status`; `names`, when not empty, limits the judgement to those entries (an unknown
    /// name counts as not ready).
    public init(_ status: AgentStatus, names: [String] = []) {
        var services = status.services
        var missing: [String] = []
        if !names.isEmpty {
            services = services.filter { names.contains($0.name) }
            missing = names.filter { name in !status.services.contains { $0.name == name } }
        }
        let running = services.filter(Self.shouldRun)
        shouldRun = running.count
        notReady = running.filter { $0.phase != .Ready || !$0.ready }.map(\.name) + missing
        configApplied = status.config.generation > 0
        self.missing = missing
    }

    /// False for an entry stopped on purpose (replicas 0, suspend, completed); true otherwise.
    public static func shouldRun(_ service: ServiceStatus) -> Bool {
        service.phase != .Stopped
    }
}
