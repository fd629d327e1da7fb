import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the operator endpoint (`--listen`) serves, shared between the agent and the HTTP server
/// without either waiting for the other: the last status document the agent wrote, whether the agent
/// is shutting down, and the metrics. Handlers read a lock-protected copy; they never call into the
/// agent's actors, so no request can hold up supervision.
public final class OperatorState: Sendable {
    /// A status document as the store wrote it: its parts, put together only when a handler asks
    /// (`status`), so that a write with 1,000 entries does not copy 1,000 services to publish them.
    struct Document: Sendable {
        /// The document without its services.
        var shell: AgentStatus
        /// The services' names, in the document's order.
        var order: [String]
        /// Each service's status, by name.
        var services: [String: ServiceStatus]
        /// The document as written to the status file.
        var json: [UInt8]

        /// The whole document.
        var status: AgentStatus {
            var s = shell
            s.services = order.compactMap { services[$0] }
            return s
        }
    }

    private let latest = Mutex<Document?>(nil)
    /// Whether the metrics show the latest document yet: they are brought up to date when scraped.
    private let metricsCurrent = Mutex(true)
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
    /// O(1): the metrics read it when next scraped (`renderMetrics()`).
    func publish(_ document: Document) {
        latest.withLock { $0 = document }
        metricsCurrent.withLock { $0 = false }
    }

    /// The last status document, nil before the first write.
    public var status: AgentStatus? { latest.withLock { $0 }?.status }

    /// The Prometheus text of `metrics`, after bringing them up to date with the last status document.
    public func renderMetrics() -> [UInt8] {
        let stale = metricsCurrent.withLock { current in
            defer { current = true }
            return !current
        }
        if stale, let status { metrics.update(from: status) }
        return metrics.render()
    }

    /// The last status document's JSON, nil before the first write.
    public var statusJSON: [UInt8]? { latest.withLock { $0?.json } }

    /// Marks the agent as shutting down (`GET /healthz` answers 503 from then on).
    func shuttingDown() { stopping.withLock { $0 = true } }

    /// True once the agent began its shutdown.
    public var isShuttingDown: Bool { stopping.withLock { $0 } }
}
