import Foundation
import Synchronization

/// What the operator endpoint (`--listen`) serves, shared between the agent and the HTTP server
/// without either waiting for the other: the last status document the agent wrote, whether the agent
/// is shutting down, and the metrics. Handlers read a lock-protected copy; they never call into the
/// agent's actors, so no request can hold up supervision.
public final class OperatorState: Sendable {
    private let latest = Mutex<(status: AgentStatus, json: [UInt8])?>(nil)
    private let stopping = Mutex(false)
    /// The Prometheus metrics.
    public let metrics: OperatorMetrics

    /// - Parameters:
    ///   - version: the agent's version, for `metal_agent_build_info`.
    ///   - commit: the git commit it was built from.
    public init(version: String, commit: String) {
        metrics = OperatorMetrics(version: version, commit: commit)
    }

    /// Records a status document as written to the status file (its bytes, as `GET /status` serves them).
    func publish(_ status: AgentStatus, json: [UInt8]) {
        latest.withLock { $0 = (status, json) }
        metrics.update(from: status)
    }

    /// The last status document, nil before the first write.
    public var status: AgentStatus? { latest.withLock { $0?.status } }

    /// The last status document's JSON, nil before the first write.
    public var statusJSON: [UInt8]? { latest.withLock { $0?.json } }

    /// Marks the agent as shutting down (`GET /healthz` answers 503 from then on).
    func shuttingDown() { stopping.withLock { $0 = true } }

    /// True once the agent began its shutdown.
    public var isShuttingDown: Bool { stopping.withLock { $0 } }
}
