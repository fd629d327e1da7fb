import Foundation
import Supervisor
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The operator endpoint (`--listen`) of a real agent, over real HTTP: /healthz, /readyz, /status and
/// /metrics with the upstream LLMKube metric names, a port that is taken, and hostile clients.
@Suite struct OperatorEndpointTests {
    func readyPID(_ name: String, _ s: AgentStatus) -> Int32? {
        s.services.first { $0.name == name && $0.phase == .Ready }?.pid
    }

    /// Starts an agent on a kernel-chosen port and returns the port it listens on (from the status file).
    func startListening(_ agent: AgentHarness, _ extra: [String] = []) async throws -> Int {
        try agent.start(["--listen", "127.0.0.1:0"] + extra)
        let s = try await agent.waitFor("the operator endpoint listens") { $0.operatorEndpoint != nil }
        return try #require(s.operatorEndpoint.flatMap(port(of:)))
    }

    @Test func metricsAfterACrashAndARestartUseTheUpstreamNames() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat"), svc("stuck", "extraArgs: [\"--fake-never-ready\"]")))
        let port = try await startListening(agent, ["--liveness-period", "200ms"])
        let first = try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        let firstPID = try #require(readyPID("chat", first))

        #expect(try httpGet(port: port, "/healthz") == (200, "ok\n"))
        let notReady = try httpGet(port: port, "/readyz")
        #expect(notReady.status == 503 && notReady.body.contains("stuck"), "\(notReady)")

        kill(firstPID, SIGKILL)
        try await agent.waitFor("chat Ready again after its crash") { s in
            readyPID("chat", s).map { $0 != firstPID } ?? false && s.services.first { $0.name == "chat" }?.restarts == 1
        }
        let chat = #"{name="chat",namespace="default"}"#
        let stuck = #"{name="stuck",namespace="default"}"#
        // Liveness probes run every 200 ms once Ready: wait for one of the new process.
        var metrics: [String: Double] = [:]
        var text = ""
        let clock = ContinuousClock()
        let end = clock.now + AgentHarness.deadline
        repeat {
            let response = try httpGet(port: port, "/metrics")
            #expect(response.status == 200)
            text = response.body
            metrics = parseMetrics(text)
            if (metrics["llmkube_metal_agent_health_check_duration_seconds_count\(chat)"] ?? 0) > 0,
                metrics["llmkube_metal_agent_process_healthy\(chat)"] == 1
            {
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        } while clock.now < end
        #expect(metrics["llmkube_metal_agent_process_restarts_total\(chat)"] == 1, "\(text)")
        #expect(metrics["llmkube_metal_agent_process_restarts_total\(stuck)"] == 0)
        #expect(metrics["llmkube_metal_agent_process_healthy\(chat)"] == 1)
        #expect(metrics["llmkube_metal_agent_process_healthy\(stuck)"] == 0)
        #expect(metrics["llmkube_metal_agent_managed_processes"] == 2)
        #expect((metrics["llmkube_metal_agent_health_check_duration_seconds_count\(chat)"] ?? 0) > 0)
        #expect(
            metrics[#"llmkube_metal_agent_health_check_duration_seconds_bucket{le="10.0",name="chat",namespace="default"}"#] != nil
                || metrics[#"llmkube_metal_agent_health_check_duration_seconds_bucket{le="10",name="chat",namespace="default"}"#] != nil, "\(text)")
        #expect((metrics[#"llmkube_metal_agent_process_rss_bytes{name="chat"}"#] ?? 0) > 1_000_000, "the fake runtime (python) holds megabytes")
        #expect((metrics["llmkube_metal_agent_memory_budget_bytes"] ?? 0) > 0)
        #expect(metrics["llmkube_metal_agent_memory_estimated_bytes\(chat)"] != nil)
        #expect(metrics["metal_agent_config_generation"] == 1)
        #expect(metrics["metal_agent_config_valid"] == 1)
        #expect((metrics["metal_agent_reconciles_total"] ?? 0) >= 1)
        #expect(metrics[#"metal_agent_service_phase{name="chat",namespace="default",phase="Ready"}"#] == 1)
        #expect(metrics[#"metal_agent_service_phase{name="stuck",namespace="default",phase="Starting"}"#] == 1)
        #expect(metrics[#"metal_agent_service_phase{name="stuck",namespace="default",phase="Ready"}"#] == 0)
        // The upstream help texts, so a dashboard's tooltips read the same.
        #expect(text.contains("# HELP llmkube_metal_agent_process_restarts_total Total number of process restarts triggered by health monitoring."))
        #expect(text.contains("# TYPE llmkube_metal_agent_process_restarts_total counter"))
        #expect(text.contains("# TYPE llmkube_metal_agent_health_check_duration_seconds histogram"))

        // /status serves the document the file holds.
        let status = try httpGet(port: port, "/status")
        let served = try JSONDecoder().decode(AgentStatus.self, from: Data(status.body.utf8))
        #expect(served.services.map(\.name) == ["chat", "stuck"])
        #expect(served.operatorEndpoint == "http://127.0.0.1:\(port)")

        // An entry removed from the config loses its series.
        try agent.write(configYAML(svc("chat")))
        try await agent.waitFor("stuck removed") { $0.services.map(\.name) == ["chat"] }
        let ready = try httpGet(port: port, "/readyz")
        #expect(ready.status == 200, "\(ready)")
        let after = parseMetrics(try httpGet(port: port, "/metrics").body)
        #expect(after["llmkube_metal_agent_process_healthy\(stuck)"] == nil)
        #expect(after["metal_agent_config_generation"] == 2)
        #expect(try await agent.terminate() == 0)
    }

    @Test func aTakenPortIsLoggedAndSupervisionGoesOn() async throws {
        let holder = try LoopbackListener(backlog: 1)
        defer { holder.close() }
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start(["--listen", "127.0.0.1:\(holder.port)"])
        let s = try await agent.waitFor("chat Ready, and the status warns") { s in
            readyPID("chat", s) != nil && s.warnings?.contains { $0.hasPrefix("the operator endpoint cannot listen on 127.0.0.1:\(holder.port)") } == true
        }
        #expect(s.operatorEndpoint == nil)
        let log = try String(contentsOfFile: agent.stderrPath, encoding: .utf8)
        #expect(log.contains("operator endpoint not started"), "\(log.suffix(3000))")
        // In the system's words, not SwiftNIO's internal function name.
        #expect(log.contains("error=Address already in use (errno ") && !log.contains("bind(descriptor"), "\(log.suffix(3000))")
        // Still supervising: an edit applies.
        try agent.write(configYAML(svc("chat", "contextSize: 1024")))
        try await agent.waitFor("chat restarted with the edit") { s in
            readyPID("chat", s) != nil && s.services.first?.spec?["spec.contextSize"] == "1024"
        }
        // The port frees up: the endpoint is tried again (1 s, doubling up to 30 s) and listens, with
        // one error line for the whole time the port was held, however many tries failed.
        holder.close()
        try await agent.waitFor("the endpoint listening once the port is free, no warning left") { s in
            s.operatorEndpoint == "http://127.0.0.1:\(holder.port)" && s.warnings == []
        }
        #expect(try httpGet(port: holder.port, "/healthz").status == 200)
        let after = try String(contentsOfFile: agent.stderrPath, encoding: .utf8)
        let errors = after.split(separator: "\n").filter { $0.contains(" error ") && $0.contains("operator endpoint not started") }
        #expect(errors.count == 1, "\(after.suffix(3000))")
        #expect(after.contains("operator endpoint listening"))
        #expect(try await agent.terminate() == 0)
    }

    /// The endpoint's port inside `--port-range`, taken when the agent starts: while the endpoint waits
    /// to try it again, the port is free, but never handed to an entry.
    @Test func theEndpointsPortIsNeverGivenToAnEntryWhileItWaitsToTryAgain() async throws {
        let holder = try LoopbackListener(backlog: 1)
        defer { holder.close() }
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start([
            "--listen", "127.0.0.1:\(holder.port)", "--port-range", "\(holder.port)-\(holder.port)", "--resync-interval", "300ms",
        ])
        try await agent.waitFor("chat finds no free port") { agent.service("chat", in: $0)?.reason == .NoFreePort }
        holder.close()
        // Re-checks every 300 ms try to place chat while the endpoint waits up to seconds to try again.
        let s = try await agent.waitFor("the endpoint listening on its port") { $0.operatorEndpoint == "http://127.0.0.1:\(holder.port)" }
        #expect(agent.service("chat", in: s)?.reason == .NoFreePort, "\(String(describing: agent.service("chat", in: s)))")
        #expect(try await agent.terminate() == 0)
    }

    @Test func aNonLoopbackAddressMustBeNamedAndBadValuesAreUsageErrors() async throws {
        let dir = FileManager.default.temporaryDirectory
        #expect(try await runAgentCommandAsync(["run", "--config", "x.yaml", "--listen", "9090"], in: dir).status == 2)
        #expect(try await runAgentCommandAsync(["run", "--config", "x.yaml", "--listen", ":9090"], in: dir).status == 2)
        #expect(try await runAgentCommandAsync(["run", "--config", "x.yaml", "--listen", "127.0.0.1:70000"], in: dir).status == 2)
    }

    /// Slowloris (10,000 connections that never finish a request head) and a 1 GiB request body:
    /// the agent's memory and descriptors stay bounded and an edit still applies while they last.
    @Test func hostileClientsCostBoundedMemoryAndNoSupervision() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        let port = try await startListening(agent)
        let first = try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        let agentPID = agent.process!.processIdentifier
        let rssBefore = try #require(residentBytes(agentPID))

        // A 1 GiB body sent to /status (a GET that takes no body): read and dropped, never collected.
        // Connected before the slowloris connections fill the listen backlog (a connect behind 10,000 others
        // would wait for the kernel's SYN retries and time out).
        let bigFD = try connectLoopback(port: port, blocking: true)
        let big = Task.detached { () -> Int in
            let fd = bigFD
            defer { close(fd) }
            let head = Array("POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: \(1 << 30)\r\n\r\n".utf8)
            _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let chunk = [UInt8](repeating: 0x61, count: 1 << 20)
            var sent = 0
            while sent < 1 << 30 {
                let n = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                sent += n
            }
            return sent
        }
        // 10,000 slowloris connections: connected (or connecting), half a request head, then silence. They
        // are held by a child process, not by this test process: Foundation's Process.run (which other tests
        // call meanwhile) reads /proc/self/fd in a way that can fault on a very long listing.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = min(limit.rlim_max, 20_000)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)  // inherited by the child
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        let count = min(10_000, Int(limit.rlim_cur) - 500)
        let slowloris = Process()
        slowloris.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        slowloris.arguments = ["python3", "-c", Self.slowlorisScript, String(port), String(max(0, count))]
        let toChild = Pipe(), fromChild = Pipe()
        slowloris.standardInput = toChild
        slowloris.standardOutput = fromChild
        try slowloris.run()
        defer { kill(slowloris.processIdentifier, SIGKILL) }
        let opened = Int(String(decoding: fromChild.fileHandleForReading.availableLine(), as: UTF8.self)) ?? 0
        var loris = [Int32](repeating: -1, count: opened)  // held by the child; closed when its stdin closes
        #expect(loris.count >= 500, "opened \(loris.count) connections")

        // Supervision goes on meanwhile: an edit restarts chat and it becomes Ready.
        try agent.write(configYAML(svc("chat", "contextSize: 1024")))
        try await agent.waitFor("chat Ready with the edit during the attack") { s in
            readyPID("chat", s).map { $0 != readyPID("chat", first) } ?? false
        }
        let sent = await big.value
        #expect(sent > 0)
        let rssAfter = try #require(residentBytes(agentPID))
        #expect(
            rssAfter - rssBefore < 128 << 20, "agent RSS grew from \(rssBefore) to \(rssAfter) bytes with a 1 GiB request and \(loris.count) idle connections")
        #expect(openDescriptors(agentPID) < 400, "the agent holds \(openDescriptors(agentPID)) descriptors")
        try toChild.fileHandleForWriting.close()  // the child closes its connections and exits
        slowloris.waitUntilExit()
        loris = []
        // Once they are gone the endpoint answers again.
        let clock = ContinuousClock()
        let end = clock.now + AgentHarness.deadline
        var health: (status: Int, body: String)?
        while clock.now < end {
            health = try? httpGet(port: port, "/healthz")
            if health?.status == 200 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(health?.status == 200)
        #expect(try await agent.terminate() == 0)
    }
}

extension OperatorEndpointTests {
    /// Opens `argv[2]` non-blocking connections to 127.0.0.1:`argv[1]`, sends half a request head on each,
    /// prints how many it opened, then holds them until its stdin closes.
    static let slowlorisScript = """
        import socket, sys
        port, count = int(sys.argv[1]), int(sys.argv[2])
        held = []
        for _ in range(count):
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError:
                break
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except (BlockingIOError, OSError):
                pass
            try:
                s.send(b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: ")
            except OSError:
                pass
            held.append(s)
        print(len(held), flush=True)
        sys.stdin.read()
        """
}

extension FileHandle {
    /// The bytes up to the first newline (or the end), read one at a time.
    func availableLine() -> [UInt8] {
        var line: [UInt8] = []
        while let byte = try? read(upToCount: 1), let first = byte.first, first != UInt8(ascii: "\n") { line.append(first) }
        return line
    }
}
