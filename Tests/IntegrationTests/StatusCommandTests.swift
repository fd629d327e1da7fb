import Foundation
import Supervisor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `metal-agent status` and `wait` against real agents: running, degraded, killed, and no agent at all.
@Suite struct StatusCommandTests {
    func readyPID(_ name: String, _ s: AgentStatus) -> Int32? {
        s.services.first { $0.name == name && $0.phase == .Ready }?.pid
    }

    @Test func aRunningAgentWithEveryEntryReadyExitsZero() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat"), svc("coder", model: "tiny-mlx", "runtime: mlx-server")))
        try agent.start()
        try await agent.waitFor("both Ready") { readyPID("chat", $0) != nil && readyPID("coder", $0) != nil }
        let table = try await runAgentCommandAsync(["status", "--config", agent.configPath], in: agent.dir)
        #expect(table.status == 0, "\(table.err)")
        let lines = table.out.split(separator: "\n").map(String.init)
        #expect(
            lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "RUNTIME", "PHASE", "READY", "RESTARTS", "PORT", "AGE", "MESSAGE"])
        let chat = try #require(lines.first { $0.hasPrefix("chat ") })
        // chat has no spec.runtime: its runtime came from the default, marked *.
        #expect(chat.split(separator: " ", omittingEmptySubsequences: true).prefix(5) == ["chat", "llama-server*", "Ready", "1/1", "0"], "\(chat)")
        let coder = try #require(lines.first { $0.hasPrefix("coder ") })
        #expect(coder.split(separator: " ", omittingEmptySubsequences: true).prefix(4) == ["coder", "mlx-server", "Ready", "1/1"], "\(coder)")
        #expect(table.out.contains("config: generation 1, valid"))
        #expect(table.out.contains("agent: running (pid \(agent.process!.processIdentifier))"))
        #expect(table.out.contains("runtimes: llama-server"))

        let json = try await runAgentCommandAsync(["status", "--status-file", agent.statusPath, "-o", "json"], in: agent.dir)
        #expect(json.status == 0)
        let decoded = try JSONDecoder().decode(AgentStatus.self, from: Data(json.out.utf8))
        #expect(decoded.services.map(\.name) == ["chat", "coder"])

        let yaml = try await runAgentCommandAsync(["status", "--config", agent.configPath, "-o", "yaml"], in: agent.dir)
        #expect(yaml.status == 0)
        #expect(yaml.out.hasPrefix("capabilities:\n"), "\(yaml.out.prefix(2000))")
        #expect(yaml.out.contains("\n    endpoint: http://127.0.0.1:"), "\(yaml.out.prefix(2000))")
        #expect(yaml.out.contains("    phase: Ready\n"))

        let wide = try await runAgentCommandAsync(["status", "--config", agent.configPath, "-o", "wide"], in: agent.dir)
        #expect(wide.status == 0)
        #expect(wide.out.contains("PID") && wide.out.contains("ENDPOINT") && wide.out.contains("tiny-mlx"))
        #expect(try await agent.terminate() == 0)
    }

    @Test func aDegradedAgentExitsThreeAndSaysWhich() async throws {
        let agent = try AgentHarness(
            config: configYAML(
                svc("chat"), svc("stuck", "extraArgs: [\"--fake-never-ready\"]"),
                svc("parked", "replicas: 0")))
        try agent.start()
        try await agent.waitFor("chat Ready, stuck Starting") { s in
            readyPID("chat", s) != nil && s.services.first { $0.name == "stuck" }?.phase == .Starting
        }
        let result = try await runAgentCommandAsync(["status", "--config", agent.configPath], in: agent.dir)
        #expect(result.status == 3, "\(result.out)\(result.err)")
        let stuck = try #require(result.out.split(separator: "\n").first { $0.hasPrefix("stuck ") })
        #expect(stuck.contains("Starting") && stuck.contains("0/1"))
        // An entry scaled to zero is not expected to run: 0/0, and it does not make the node unready.
        let parked = try #require(result.out.split(separator: "\n").first { $0.hasPrefix("parked ") })
        #expect(parked.contains("Stopped") && parked.contains("0/0") && parked.contains("ScaledToZero"))
        // The same verdict for named entries: chat alone is Ready.
        let named = try await runAgentCommandAsync(["wait", "--for=ready", "chat", "--config", agent.configPath, "--timeout", "60s"], in: agent.dir)
        #expect(named.status == 0, "\(named.err)")
        let timedOut = try await runAgentCommandAsync(["wait", "--for=ready", "--config", agent.configPath, "--timeout", "1s"], in: agent.dir)
        #expect(timedOut.status == 1)
        #expect(timedOut.err.contains("not ready: stuck"), "\(timedOut.err)")
        // A name the config does not have: said so, with the names there are (it used to read "not ready: nosuch").
        let unknown = try await runAgentCommandAsync(["wait", "--for=ready", "nosuch", "--config", agent.configPath, "--timeout", "1s"], in: agent.dir)
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("no entry named nosuch in the running config") && unknown.err.contains("entries: "), "\(unknown.err)")
        #expect(try await agent.terminate() == 0)
    }

    @Test func aKilledAgentsFileIsStaleAndExitsOne() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start()
        try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        let agentPID = agent.process!.processIdentifier
        kill(agentPID, SIGKILL)
        agent.process!.waitUntilExit()
        // The file still says Ready, as the agent left it; the lock says nobody holds it.
        #expect(readyPID("chat", try #require(agent.status())) != nil)
        let result = try await runAgentCommandAsync(["status", "--config", agent.configPath], in: agent.dir)
        #expect(result.status == 1)
        #expect(result.out.contains("agent: NOT RUNNING"), "\(result.out)")
        #expect(result.err.contains("is not running"), "\(result.err)")
        let json = try await runAgentCommandAsync(["status", "--config", agent.configPath, "-o", "json"], in: agent.dir)
        #expect(json.status == 1)
        let wait = try await runAgentCommandAsync(["wait", "--for=ready", "--config", agent.configPath, "--timeout", "2s"], in: agent.dir)
        #expect(wait.status == 1)
        #expect(wait.err.contains("the agent is not running"), "\(wait.err)")
    }

    @Test func noStatusFileExitsOneAndNoLocationIsAUsageError() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metal-agent-status-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try await runAgentCommandAsync(["status", "--config", dir.appendingPathComponent("models.yaml").path], in: dir)
        #expect(missing.status == 1)
        #expect(missing.err.contains("no readable status file"), "\(missing.err)")
        #expect(try await runAgentCommandAsync(["status"], in: dir).status == 2)
        #expect(try await runAgentCommandAsync(["status", "--config", "x.yaml", "-o", "xml"], in: dir).status == 2)
    }

    @Test func waitReturnsOnceTheAgentStartedLaterIsReady() async throws {
        // wait starts before the agent: no status file, no lock yet.
        let agent = try AgentHarness(config: configYAML(svc("chat", "extraArgs: [\"--fake-ready-after\", \"1\"]")))
        let wait = try BackgroundCommand(["wait", "--for=ready", "--config", agent.configPath, "--timeout", "90s"], in: agent.dir)
        try agent.start()
        #expect(try await wait.exitStatus() == 0, "\(wait.err)")
        // It returned because chat is Ready, not for any other reason.
        #expect(readyPID("chat", try #require(agent.status())) != nil)
        #expect(try await agent.terminate() == 0)
    }

    @Test func watchRedrawsOnEveryChangeOfTheFile() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start()
        try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        let watch = try BackgroundCommand(["status", "--config", agent.configPath, "--watch"], in: agent.dir)
        try await watch.waitForOutput("the first table") { $0.contains("chat ") && $0.contains("Ready") }
        try agent.write(configYAML(svc("chat"), svc("added")))
        try await watch.waitForOutput("a table with the added entry Ready") { out in
            out.split(separator: "\n").contains { $0.hasPrefix("added ") && $0.contains("Ready") }
        }
        // The agent ends: the next table says so.
        #expect(try await agent.terminate() == 0)
        try await watch.waitForOutput("the agent's end") { $0.contains("agent: NOT RUNNING") }
        watch.interrupt()
        _ = try await watch.exitStatus()
    }
}
