import Prometheus
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The agent's Prometheus metrics (`GET /metrics`), kept in a `swift-prometheus` registry.
///
/// Names, labels and help of the upstream LLMKube metal agent (`pkg/agent/agentmetrics.go` of
/// `defilantech/LLMKube`) where the meaning is the same, so existing dashboards work:
/// `llmkube_metal_agent_managed_processes`, `_process_healthy{name,namespace}`,
/// `_process_restarts_total{name,namespace}`, `_health_check_duration_seconds{name,namespace}` (the
/// liveness probes, upstream's default buckets), `_memory_budget_bytes`,
/// `_memory_estimated_bytes{name,namespace}`, `_process_rss_bytes{name}`. This agent's own are
/// `metal_agent_*`: reconciles, config generation and validity, the phase of each entry (1 for the
/// current phase, 0 for the others, as kube-state-metrics shows pod phases), download bytes, memory
/// committed, and build info. `name` is the entry's `metadata.name`, `namespace` its namespace.
///
/// Gauges are set at scrape time from the last status document the agent wrote (`update(from:)`),
/// restarts and probe durations when they happen; RSS is read at scrape time. An entry's series are
/// created at the first scrape that sees it (its restart and probe series earlier if it restarts or is
/// probed first): swift-prometheus 2.4 copies a metric family's series to add one (O(series)), so
/// creating the 12 gauges of every entry at its first liveness probe cost an agent that nobody scrapes
/// most of its idle CPU at 1,000 entries. Entries removed from the config lose their series at the next
/// scrape.
public final class OperatorMetrics: Sendable {
    /// The registry `render()` emits.
    public let registry = PrometheusCollectorRegistry()
    private let book = Mutex(Book())
    /// Upstream's `prometheus.DefBuckets`, in seconds.
    static let defaultBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map { .milliseconds(Int64($0 * 1000)) }

    /// Series created per entry, so that removed entries can be unregistered.
    private struct Book {
        var entries: [Key: Series] = [:]
        var lastPIDs: [Key: Int32] = [:]
    }

    private struct Key: Hashable, Sendable {
        var name: String
        var namespace: String
        var labels: [(String, String)] { [("name", name), ("namespace", namespace)] }
    }

    /// An entry's series, each part created when first needed.
    private struct Series: Sendable {
        var events: Events?
        var gauges: Gauges?
    }

    /// Counted as they happen (restarts, liveness probes).
    private struct Events: Sendable {
        var restarts: Counter
        var health: DurationHistogram
    }

    /// Set from the status document at scrape time.
    private struct Gauges: Sendable {
        var healthy: Gauge
        var estimate: Gauge
        var rss: Gauge
        var phases: [ServicePhase: Gauge]
        var downloadDone: Gauge
        var downloadTotal: Gauge
    }

    private static func d(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private static var managedProcesses: MetricNameDescriptor {
        d("llmkube_metal_agent_managed_processes", "Number of llama-server processes currently managed by the agent.")
    }
    private static var processHealthy: MetricNameDescriptor {
        d("llmkube_metal_agent_process_healthy", "Whether a managed process is healthy (1) or unhealthy (0).")
    }
    private static var processRestarts: MetricNameDescriptor {
        d("llmkube_metal_agent_process_restarts_total", "Total number of process restarts triggered by health monitoring.")
    }
    private static var healthDuration: MetricNameDescriptor {
        d("llmkube_metal_agent_health_check_duration_seconds", "Duration of individual health check probes.")
    }
    private static var memoryBudget: MetricNameDescriptor {
        d("llmkube_metal_agent_memory_budget_bytes", "Total memory budget available for model serving in bytes.")
    }
    private static var memoryEstimated: MetricNameDescriptor {
        d("llmkube_metal_agent_memory_estimated_bytes", "Estimated memory usage per managed process in bytes.")
    }
    private static var processRSS: MetricNameDescriptor { d("llmkube_metal_agent_process_rss_bytes", "Actual resident set size per managed process in bytes.") }
    private static var reconciles: MetricNameDescriptor {
        d("metal_agent_reconciles_total", "Config reads and reconciles run (file events, SIGHUP and the resync interval).")
    }
    private static var generation: MetricNameDescriptor {
        d("metal_agent_config_generation", "Config generation: +1 each time a changed, valid config is applied.")
    }
    private static var valid: MetricNameDescriptor {
        d("metal_agent_config_valid", "1 when the config files' current content was applied, 0 when an edit was rejected; absent before the first read.")
    }
    private static var phase: MetricNameDescriptor { d("metal_agent_service_phase", "1 for the entry's current phase, 0 for the others.") }
    private static var downloadDone: MetricNameDescriptor {
        d("metal_agent_download_bytes", "Bytes of the entry's model downloaded so far (0 when no download runs).")
    }
    private static var downloadTotal: MetricNameDescriptor {
        d("metal_agent_download_size_bytes", "Size of the entry's model download in bytes, when known (0 otherwise).")
    }
    private static var committed: MetricNameDescriptor { d("metal_agent_memory_committed_bytes", "Bytes the started entries' memory estimates add up to.") }
    private static var info: MetricNameDescriptor { d("metal_agent_build_info", "Always 1; the labels say which metal-agent runs.") }
    private static var entries: MetricNameDescriptor { d("metal_agent_services", "InferenceService entries in the applied config.") }

    /// Every phase, in declaration order (for `metal_agent_service_phase`).
    static let allPhases: [ServicePhase] = [.Pending, .Starting, .Ready, .CrashLoopBackOff, .Terminating, .Stopped, .Failed]

    /// - Parameters:
    ///   - version: the agent's version (`metal_agent_build_info{version}`).
    ///   - commit: the git commit it was built from (`metal_agent_build_info{commit}`).
    public init(version: String, commit: String) {
        registry.makeGauge(descriptor: Self.info, labels: [("version", version), ("commit", commit)]).set(Int64(1))
        _ = registry.makeGauge(descriptor: Self.managedProcesses)
        _ = registry.makeCounter(descriptor: Self.reconciles)
    }

    private func key(_ service: ServiceStatus) -> Key {
        let namespace = service.namespace ?? "default"
        let name = service.name.hasPrefix(namespace + "/") ? String(service.name.dropFirst(namespace.count + 1)) : service.name
        return Key(name: name, namespace: namespace)
    }

    private func makeEvents(_ key: Key) -> Events {
        Events(
            restarts: registry.makeCounter(descriptor: Self.processRestarts, labels: key.labels),
            health: registry.makeDurationHistogram(descriptor: Self.healthDuration, labels: key.labels, buckets: Self.defaultBuckets))
    }

    private func makeGauges(_ key: Key) -> Gauges {
        let labels = key.labels
        return Gauges(
            healthy: registry.makeGauge(descriptor: Self.processHealthy, labels: labels),
            estimate: registry.makeGauge(descriptor: Self.memoryEstimated, labels: labels),
            rss: registry.makeGauge(descriptor: Self.processRSS, labels: [("name", key.name)]),
            phases: Dictionary(
                uniqueKeysWithValues: Self.allPhases.map { phase in
                    (phase, registry.makeGauge(descriptor: Self.phase, labels: labels + [("phase", phase.rawValue)]))
                }),
            downloadDone: registry.makeGauge(descriptor: Self.downloadDone, labels: labels),
            downloadTotal: registry.makeGauge(descriptor: Self.downloadTotal, labels: labels))
    }

    private func unregister(_ series: Series) {
        if let events = series.events {
            registry.unregisterCounter(events.restarts)
            registry.unregisterDurationHistogram(events.health)
        }
        if let gauges = series.gauges {
            registry.unregisterGauge(gauges.healthy)
            registry.unregisterGauge(gauges.estimate)
            registry.unregisterGauge(gauges.rss)
            for gauge in gauges.phases.values { registry.unregisterGauge(gauge) }
            registry.unregisterGauge(gauges.downloadDone)
            registry.unregisterGauge(gauges.downloadTotal)
        }
    }

    /// Sets the gauges from a status document the agent wrote; creates the series of new entries and
    /// removes those of entries no longer in the config.
    func update(from status: AgentStatus) {
        registry.makeGauge(descriptor: Self.managedProcesses).set(Int64(status.services.filter { $0.pid != nil }.count))
        registry.makeGauge(descriptor: Self.entries).set(Int64(status.services.count))
        registry.makeGauge(descriptor: Self.generation).set(Int64(status.config.generation))
        // Absent until the first read of the config has an outcome (applied, or rejected with errors): a
        // scrape while the agent starts is not an alert-worthy 0.
        if status.config.hasOutcome {
            registry.makeGauge(descriptor: Self.valid).set(Int64(status.config.valid ? 1 : 0))
        }
        if let budget = status.capabilities.memoryBudgetBytes { registry.makeGauge(descriptor: Self.memoryBudget).set(budget) }
        if let committed = status.capabilities.memoryCommittedBytes { registry.makeGauge(descriptor: Self.committed).set(committed) }
        book.withLock { book in
            var seen = Set<Key>()
            for service in status.services {
                let key = key(service)
                seen.insert(key)
                // A scrape shows every entry's series, restarts at 0 included (a counter from its start).
                var series = book.entries[key] ?? Series()
                if series.events == nil { series.events = makeEvents(key) }
                let gauges = series.gauges ?? makeGauges(key)
                series.gauges = gauges
                book.entries[key] = series
                gauges.healthy.set(Int64(service.ready ? 1 : 0))
                gauges.estimate.set(service.memoryEstimateBytes ?? Int64(0))
                for (phase, gauge) in gauges.phases { gauge.set(Int64(phase == service.phase ? 1 : 0)) }
                gauges.downloadDone.set(service.download?.bytesDone ?? Int64(0))
                gauges.downloadTotal.set(service.download?.bytesTotal ?? Int64(0))
                book.lastPIDs[key] = service.pid
                if service.pid == nil { gauges.rss.set(Int64(0)) }
            }
            for (key, series) in book.entries where !seen.contains(key) {
                unregister(series)
                book.entries[key] = nil
                book.lastPIDs[key] = nil
            }
        }
    }

    /// Counts a restart of an entry (`llmkube_metal_agent_process_restarts_total`).
    func restarted(name: String, namespace: String?) {
        events(name: name, namespace: namespace).restarts.increment()
    }

    /// Records one liveness probe's duration (`llmkube_metal_agent_health_check_duration_seconds`).
    func healthChecked(name: String, namespace: String?, duration: Duration) {
        events(name: name, namespace: namespace).health.record(duration)
    }

    /// Counts one config read and reconcile (`metal_agent_reconciles_total`).
    func reconciled() {
        registry.makeCounter(descriptor: Self.reconciles).increment()
    }

    private func events(name: String, namespace: String?) -> Events {
        var probe = ServiceStatus(name: name, model: "", phase: .Pending)
        probe.namespace = namespace
        let key = key(probe)
        return book.withLock { book in
            if let events = book.entries[key]?.events { return events }
            let events = makeEvents(key)
            book.entries[key, default: Series()].events = events
            return events
        }
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric, RSS read now.
    public func render() -> [UInt8] {
        let running = book.withLock { book in book.lastPIDs.compactMap { key, pid in book.entries[key]?.gauges.map { ($0.rss, pid) } } }
        for (gauge, pid) in running { gauge.set(residentBytes(of: pid) ?? Int64(0)) }
        return registry.emitToBuffer()
    }
}
