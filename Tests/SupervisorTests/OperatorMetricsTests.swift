import Testing

@testable import Supervisor

/// When `OperatorMetrics` creates an entry's series: a liveness probe or a restart creates only its own
/// (swift-prometheus copies a family to add a series, so the 12 gauges of 1,000 entries made at their
/// first probes were most of an unscraped agent's idle CPU); a scrape shows them all, restarts at 0.
@Suite struct OperatorMetricsTests {
    func status(_ names: [String]) -> AgentStatus {
        AgentStatus(
            updatedAt: "2026-11-30T00:00:00.000Z",
            capabilities: .init(runtimes: ["llama-server"], defaultRuntime: "llama-server", binaries: [:], formats: [:], host: "127.0.0.1"),
            node: NodeInfo.current(agentVersion: "test"),
            config: .init(path: "/srv/models.yaml", generation: 1, valid: true, error: nil, errors: [], warnings: [], appliedAt: nil),
            services: names.map { ServiceStatus(name: $0, model: "m", phase: .Ready) })
    }

    func text(_ metrics: OperatorMetrics) -> String { String(decoding: metrics.render(), as: UTF8.self) }

    @Test func aProbeCreatesOnlyItsOwnSeriesAndAScrapeShowsEveryEntrysSeries() {
        let metrics = OperatorMetrics(version: "test", commit: "none")
        metrics.healthChecked(name: "chat", namespace: nil, duration: .milliseconds(3))
        let probed = text(metrics)
        #expect(probed.contains(#"llmkube_metal_agent_health_check_duration_seconds_count{name="chat",namespace="default"} 1"#), "\(probed)")
        #expect(!probed.contains("metal_agent_service_phase{"), "\(probed)")
        #expect(!probed.contains("llmkube_metal_agent_process_healthy{"), "\(probed)")

        metrics.update(from: status(["chat", "coder"]))
        let scraped = text(metrics)
        for name in ["chat", "coder"] {
            #expect(scraped.contains(#"metal_agent_service_phase{name="\#(name)",namespace="default",phase="Ready"} 1"#), "\(scraped)")
            #expect(scraped.contains(#"metal_agent_service_phase{name="\#(name)",namespace="default",phase="Pending"} 0"#))
            #expect(scraped.contains(#"llmkube_metal_agent_process_restarts_total{name="\#(name)",namespace="default"} 0"#))
        }
        // The probe's count survived the scrape's creation of the rest.
        #expect(scraped.contains(#"llmkube_metal_agent_health_check_duration_seconds_count{name="chat",namespace="default"} 1"#))

        // An entry gone from the config loses every series at the next scrape.
        metrics.update(from: status(["coder"]))
        let after = text(metrics)
        #expect(!after.contains(#"name="chat""#), "\(after)")
        #expect(after.contains(#"metal_agent_service_phase{name="coder",namespace="default",phase="Ready"} 1"#))
    }

    /// `metal_agent_config_valid` is absent until the first read of the config has an outcome: a scrape
    /// while the agent starts does not show a 0 an alert would fire on.
    @Test func configValidIsAbsentBeforeTheFirstReadsOutcome() {
        let metrics = OperatorMetrics(version: "test", commit: "none")
        var starting = status([])
        starting.config = .init(path: "/srv/models.yaml", generation: 0, valid: false, error: nil, errors: [], warnings: [], appliedAt: nil)
        metrics.update(from: starting)
        #expect(!text(metrics).contains("metal_agent_config_valid "), "\(text(metrics))")
        var rejected = starting
        rejected.config.error = "/srv/models.yaml:1:1: bad"
        metrics.update(from: rejected)
        #expect(text(metrics).contains("metal_agent_config_valid 0"), "\(text(metrics))")
        var applied = starting
        applied.config.valid = true
        applied.config.generation = 1
        applied.config.appliedAt = "2026-11-30T00:00:00.000Z"
        metrics.update(from: applied)
        #expect(text(metrics).contains("metal_agent_config_valid 1"), "\(text(metrics))")
    }
}
