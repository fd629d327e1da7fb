import Foundation
import Supervisor
import Testing

/// Runs `metal-agent` once with `arguments`; returns exit status, stdout and stderr.
func runAgentCommand(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    if let directory { process.currentDirectoryURL = directory }
    process.executableURL = URL(fileURLWithPath: AgentHarness.agentBinary)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

@Suite struct ValidateCommandTests {
    let bins = ["--llama-server-bin", AgentHarness.fakeRuntime, "--mlx-server-bin", AgentHarness.fakeRuntime]

    @Test func validFileExitsZero() throws {
        let h = try AgentHarness(config: configYAML(svc("chat"), svc("coder", model: "tiny-mlx", "runtime: mlx-server")))
        let r = try runAgentCommand(["validate", "--config", h.configPath] + bins)
        #expect(r.status == 0)
        #expect(r.out.contains("valid"))
    }

    @Test func fileErrorsExitOneWithPositions() throws {
        let h = try AgentHarness(config: configYAML(svc("chat", "runtme: mlx-server", "port: \"8080\"")))
        let r = try runAgentCommand(["validate", "--config", h.configPath] + bins)
        #expect(r.status == 1)
        #expect(r.err.contains("\(h.configPath):23:3: InferenceService \"chat\" spec.runtme: unknown field \"runtme\"; did you mean \"runtime\"?"))
        #expect(r.err.contains("\(h.configPath):24:9: InferenceService \"chat\" spec.port: expected an integer, found a string (\"8080\")"))
        #expect(r.err.contains("2 file error(s)"))
    }

    @Test func entryErrorsExitOneAndJSONSeparatesKinds() throws {
        let h = try AgentHarness(config: configYAML(svc("chat", "extraArgs: [\"--port\", \"9\"]"), svc("coder", model: "tiny-mlx", "runtime: mlx-server")))
        let r = try runAgentCommand(["validate", "--config", h.configPath, "--runtimes", "llama-server", "--output", "json"] + bins)
        #expect(r.status == 1)
        let report = try JSONDecoder().decode(ConfigReport.self, from: Data(r.out.utf8))
        #expect(report.fileErrors.isEmpty)
        #expect(report.entryErrors.map(\.reason) == [.RuntimeNotEnabled])
        #expect(report.entryErrors[0].error.line == 31)
        #expect(report.warnings.map(\.reason) == [.OverriddenFlag])
    }

    @Test func durationDefaultsReadAsTheyAreWritten() throws {
        let help = try runAgentCommand(["run", "--help"])
        let text = help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(!text.contains("DurationArgument"), "a default shown as a Swift value: \(text)")
        for flag in ["--backoff-initial <backoff-initial>", "--backoff-max <backoff-max>", "--status-write-interval"] {
            #expect(text.contains(flag))
        }
        #expect(text.contains("(default: 10s)") && text.contains("(default: 5m)") && text.contains("(default: 20ms)"))
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try runAgentCommand(["validate"]).status == 2)
        #expect(try runAgentCommand(["validate", "--config", "/nonexistent/models.yaml"]).status == 2)
        #expect(try runAgentCommand(["run", "--config", "x.yaml", "--host", "localhost"]).status == 2)
        #expect(try runAgentCommand(["run", "--config", "x.yaml", "--backoff-max", "1e30s"]).status == 2)  // used to crash
        #expect(try runAgentCommand(["run", "--config", "x.yaml", "--log-max-files", "0"]).status == 2)
        #expect(try runAgentCommand(["run", "--config", "x.yaml", "--gateway-listen", "8080"]).status == 2)  // HOST:PORT or none
        // The gateway on the operator endpoint's port would never listen: said at once.
        let shared = try runAgentCommand(["run", "--config", "x.yaml", "--listen", "0.0.0.0:9090", "--gateway-listen", "127.0.0.1:9090"])
        #expect(shared.status == 2 && shared.err.contains("take the same port"), "\(shared.err)")
        // A bad --port-range says why.
        for (value, reason) in [("5-3", "must not be above"), ("0-10", "1 to 65535"), ("41000-70000", "1 to 65535"), ("abc", "LOW-HIGH")] {
            let refused = try runAgentCommand(["run", "--config", "x.yaml", "--port-range", value])
            #expect(refused.status == 2 && refused.err.contains(reason), "\(value): \(refused.err)")
        }
    }
}

@Suite(.serialized) struct PlanCommandTests {
    @Test func planNamesStartsStopsRestartsWithChangedFields() async throws {
        let agent = try AgentHarness(
            config: configYAML(svc("chat", "contextSize: 512"), svc("coder", model: "tiny-mlx", "runtime: mlx-server"), svc("old"), svc("doomed")))
        try agent.start()
        let before = try await agent.waitFor("all Ready") { $0.services.count == 4 && $0.services.allSatisfy { $0.phase == .Ready } }
        let next = agent.dir.appendingPathComponent("next.yaml").path
        try Data(
            configYAML(
                svc("chat", "contextSize: 1024"), svc("coder", model: "tiny-mlx", "runtime: mlx-server"), svc("new", model: "tiny-mlx"),
                svc("doomed", model: "no-such-model")
            ).utf8
        ).write(to: URL(fileURLWithPath: next))

        let r = try runAgentCommand(["plan", "--config", next, "--status-file", agent.statusPath, "--output", "json"])
        #expect(r.status == 0, "\(r.err)")
        let plan = try JSONDecoder().decode(Plan.self, from: Data(r.out.utf8))
        let byName = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.service, $0) })
        #expect(byName["chat"]?.action == .restart)
        #expect(byName["chat"]?.reasons == ["spec.contextSize: 512 -> 1024"])
        #expect(byName["coder"]?.action == .keep)
        #expect(byName["coder"]?.runtime == "mlx-server" && byName["coder"]?.runtimeSource == "spec")
        #expect(byName["old"]?.action == .stop)
        #expect(byName["new"]?.action == .fail)  // an MLX model on the default llama-server
        #expect(byName["new"]?.reasons.first?.hasPrefix("FormatMismatch") == true)
        // A running entry the file would break fails (and is stopped first): it is not counted as a stop.
        #expect(byName["doomed"]?.action == .fail)
        let doomed = byName["doomed"]?.reasons.first ?? ""
        #expect(doomed.hasPrefix("ModelNotFound") && doomed.hasSuffix("(running now: it would be stopped)"), "\(doomed)")

        // Relative paths, as typed in a shell: sources resolve against the config's folder, as the agent does.
        let text = try runAgentCommand(["plan", "--config", "next.yaml", "--status-file", "models.status.json"], in: agent.dir)
        #expect(text.out.contains("keep     coder"), "\(text.out)")
        #expect(text.out.contains("restart  chat"))
        #expect(text.out.contains("summary: 0 to start, 1 to restart, 1 to stop, 1 unchanged, 2 failing"), "\(text.out)")

        // Planning changed nothing.
        #expect(agent.status()?.services.map(\.pid) == before.services.map(\.pid))
        let bad = try runAgentCommand([
            "plan", "--config", agent.configPath.replacingOccurrences(of: "models.yaml", with: "nope.yaml"), "--status-file", agent.statusPath,
        ])
        #expect(bad.status == 2)
        try await agent.terminate()
    }
}

@Suite struct GuardCommandTests {
    @Test func aGuardWithoutARuntimeOrWithAMissingOneExits127AndSaysWhy() throws {
        let none = try runAgentCommand(["guard", "--grace-seconds", "1"])
        #expect(none.status == 127)
        #expect(none.err.contains("no runtime command given"), "\(none.err)")
        let missing = try runAgentCommand(["guard", "--grace-seconds", "1", "--", "/nonexistent/llama-server", "--port", "1"])
        #expect(missing.status == 127)
        #expect(missing.err.contains("cannot execute /nonexistent/llama-server: No such file or directory"), "\(missing.err)")
    }

    @Test func aRuntimeStartsWithSIGPIPEIgnoredAndEverythingElseDefault() throws {
        // systemd's IgnoreSIGPIPE=yes: a runtime that logs after the agent (its output's reader) is gone
        // gets EPIPE, not death by SIGPIPE before its grace period.
        let result = try runAgentCommand(["guard", "--", "/bin/grep", "SigIgn", "/proc/self/status"])
        #expect(result.status == 0)
        let mask = UInt64(result.out.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "", radix: 16)
        // Of the standard signals (1 to 31; the C library keeps 32 and 33 for itself) only SIGPIPE is ignored.
        #expect(mask.map { $0 & 0x7fff_ffff } == 1 << (SIGPIPE - 1), "SigIgn of the runtime: \(result.out)")
    }

    @Test func aGuardExitsWithItsRuntimesCodeOrSignal() throws {
        #expect(try runAgentCommand(["guard", "--", "/bin/sh", "-c", "exit 7"]).status == 7)
        let killed = Process()
        killed.executableURL = URL(fileURLWithPath: AgentHarness.agentBinary)
        killed.arguments = ["guard", "--", "/bin/sh", "-c", "kill -USR2 $$"]
        try killed.run()
        killed.waitUntilExit()
        #expect(killed.terminationReason == .uncaughtSignal && killed.terminationStatus == SIGUSR2)
    }
}
