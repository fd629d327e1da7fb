import Foundation
import Supervisor
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// End-to-end behaviour of the real agent binary with fake runtimes: real processes, signals, files, HTTP.
@Suite(.serialized) struct AgentIntegrationTests {
    static let both = configYAML(
        svc("chat", "contextSize: 512"),
        svc("coder", model: "tiny-mlx", "runtime: mlx-server"))

    func readyPIDs(_ s: AgentStatus) -> [String: Int32] {
        var result: [String: Int32] = [:]
        for service in s.services where service.phase == .Ready {
            if let pid = service.pid { result[service.name] = pid }
        }
        return result
    }

    @Test func servesBothRuntimesAtOnceAndReportsCapabilities() async throws {
        let agent = try AgentHarness(config: Self.both)
        try agent.start()
        let s = try await agent.waitFor("both Ready") { $0.services.count == 2 && $0.services.allSatisfy { $0.phase == .Ready } }
        #expect(s.capabilities.runtimes == ["llama-server", "mlx-server"])
        #expect(s.capabilities.defaultRuntime == "llama-server")
        #expect(s.config.valid && s.config.generation == 1)
        let chat = try #require(agent.service("chat", in: s))
        let coder = try #require(agent.service("coder", in: s))
        #expect(chat.runtime == "llama-server" && chat.runtimeSource == "default")
        #expect(coder.runtime == "mlx-server" && coder.runtimeSource == "spec")
        #expect(chat.ready && coder.ready)
        #expect(chat.port != coder.port)
        // Agent-assigned ports come from the default --port-range, below the kernel's ephemeral ports.
        #expect(AgentOptions.defaultPortRange.contains(chat.port ?? 0) && AgentOptions.defaultPortRange.contains(coder.port ?? 0))
        // The runtime really got the executor's argv and serves on the reported endpoint.
        let (data, _) = try await URLSession.shared.data(from: URL(string: try #require(chat.endpoint) + "/argv")!)
        let argv = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])["argv"] as? [String]
        #expect(argv?.contains("--ctx-size") == true && argv?.contains("512") == true)
        #expect(try await agent.terminate() == 0)
    }

    /// `--port-range` bounds agent-assigned ports; a range whose every port is taken fails the entry with
    /// `NoFreePort`, and it starts once a port frees up.
    @Test func agentAssignedPortsComeFromThePortRange() async throws {
        let stranger = try LoopbackListener()
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start(["--port-range", "\(stranger.port)-\(stranger.port)", "--resync-interval", "500ms"])
        let failed = try await agent.waitFor("chat without a free port") { agent.service("chat", in: $0)?.reason == .NoFreePort }
        #expect(agent.service("chat", in: failed)?.message?.contains("--port-range \(stranger.port)-\(stranger.port)") == true)
        // Said once in the log, not at every re-check: wait for three more re-checks (each rewrites the
        // status file with a new updatedAt; entries that found no port are tried again at each).
        var seen: Set<String> = [failed.updatedAt]
        try await agent.waitFor("three more re-checks") { s in
            seen.insert(s.updatedAt)
            return seen.count >= 4
        }
        let log = (try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? ""
        #expect(log.components(separatedBy: "no free TCP port in --port-range").count - 1 == 1, "\(log.suffix(2000))")
        stranger.close()
        let s = try await agent.waitFor("chat Ready on the freed port") { agent.service("chat", in: $0)?.phase == .Ready }
        #expect(agent.service("chat", in: s)?.port == stranger.port)
        #expect(try await agent.terminate() == 0)
    }

    /// An agent-assigned port that another process takes while the entry is down (between a crash and its
    /// restart): the entry moves to another free port of `--port-range` instead of backing off for as
    /// long as that process holds it.
    @Test func anAgentAssignedPortTakenByAnotherProcessMovesTheEntry() async throws {
        let low = try LoopbackListener.freePort()
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start(["--port-range", "\(low)-\(low + 20)", "--backoff-initial", "5s"])
        let first = try await agent.waitFor("chat Ready") { agent.service("chat", in: $0)?.phase == .Ready }
        let port = try #require(agent.service("chat", in: first)?.port)
        let pid = try #require(agent.service("chat", in: first)?.pid)
        kill(pid, SIGKILL)
        // Take the port as soon as the runtime is gone, well before its restart (5 s of backoff).
        var stranger: LoopbackListener?
        let clock = ContinuousClock()
        let end = clock.now + .seconds(4)
        while stranger == nil && clock.now < end {
            stranger = try? LoopbackListener(port: port)
            if stranger == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        let taken = try #require(stranger, "port \(port) never came free after the runtime's SIGKILL")
        defer { taken.close() }
        let s = try await agent.waitFor("chat Ready on another port") { s in
            guard let chat = agent.service("chat", in: s) else { return false }
            return chat.phase == .Ready && chat.port != port && chat.pid != pid
        }
        let moved = try #require(agent.service("chat", in: s)?.port)
        #expect((low...(low + 20)).contains(moved))
        // The move keeps the entry's restart count (the crash, then the start that found its port
        // taken) and its last ending (the SIGKILL: the start that found the port taken never ran).
        #expect(agent.service("chat", in: s)?.restarts == 2, "\(String(describing: agent.service("chat", in: s)))")
        #expect(agent.service("chat", in: s)?.lastSignal == SIGKILL, "\(String(describing: agent.service("chat", in: s)))")
        let log = (try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? ""
        #expect(log.contains("its agent-assigned port is held by another process"), "\(log.suffix(3000))")
        #expect(try await agent.terminate() == 0)
    }

    /// Another program takes an entry's agent-assigned port after the agent found it free and before the
    /// runtime binds it (a runtime that loads its model first; a second agent that picked the same port):
    /// the readiness probe passes on that program's answers, but the entry is not Ready on them. When the
    /// runtime then fails its own bind, the entry moves to another free port of `--port-range` at once.
    @Test func aProbeAnsweredByAnotherProgramOnTheEntrysPortIsNotReadiness() async throws {
        let low = try LoopbackListener.freePort()
        let agent = try AgentHarness(config: "")
        let gate = agent.dir.appendingPathComponent("bind-now").path
        try agent.write(configYAML(svc("chat", "extraArgs: [\"--fake-bind-after\", \"\(gate)\"]")))
        try agent.start(["--port-range", "\(low)-\(low + 20)"])
        let starting = try await agent.waitFor("chat started, not bound yet") { s in
            agent.service("chat", in: s)?.phase == .Starting && agent.service("chat", in: s)?.pid != nil
        }
        let port = try #require(agent.service("chat", in: starting)?.port)
        // The stranger: a server that answers every probe on the entry's port.
        let stranger = try agent.startOutsider(port: port)
        defer { AgentHarness.endOutsider(stranger) }
        try await waitUntil("the agent saw the stranger's answers") { agent.log.contains("port answered by another process") }
        // The status says so too, not only the log.
        let held = try await agent.waitFor("the status says another process answers") { s in
            agent.service("chat", in: s)?.message?.contains("is answered by another process") == true
        }
        #expect(agent.service("chat", in: held)?.phase == .Starting)
        // The runtime binds now, fails (the stranger holds the port) and exits: the entry moves.
        FileManager.default.createFile(atPath: gate, contents: nil)
        let ready = try await agent.waitFor("chat Ready on its new port") { s in
            guard let chat = agent.service("chat", in: s) else { return false }
            return chat.phase == .Ready && chat.port != port
        }
        #expect((low...(low + 20)).contains(agent.service("chat", in: ready)?.port ?? 0))
        #expect(agent.service("chat", in: ready)?.restarts == 1, "the failed bind counts, and the move keeps the count")
        let log = agent.log
        // The agent never called the entry Ready on the stranger's port.
        let readyLines = log.split(separator: "\n").filter { $0.contains("ready") && $0.contains(":\(port)") && !$0.contains("not ready") }
        #expect(readyLines.isEmpty, "\(readyLines)\n\(log.suffix(6000))")
        #expect(log.contains("agent-assigned port held by another process"), "\(log.suffix(3000))")
        // It moved at once: no backoff announced for a restart that never comes.
        #expect(!log.contains("backing off"), "\(log.suffix(3000))")
        #expect(try await agent.terminate() == 0)
    }

    /// A runtime whose server runs outside its process tree (a container engine's daemon serves it) is
    /// never Ready, since its port is answered by a program outside the tree; but it is not stopped over
    /// and over either: it keeps running until the startup timeout, as any runtime that never gets Ready.
    @Test func aRuntimeWhoseServerIsOutsideItsTreeIsNotStoppedInALoop() async throws {
        let low = try LoopbackListener.freePort()
        let agent = try AgentHarness(config: "")
        let serverPort = try LoopbackListener.freePort()
        // The "daemon": started by the test, not by the runtime; it serves the entry's fixed port once
        // the runtime runs (`daemonGo`).
        let daemonGo = agent.dir.appendingPathComponent("daemon-go").path
        let daemon = try agent.startOutsider(port: serverPort, ["--fake-bind-after", daemonGo])
        defer { AgentHarness.endOutsider(daemon) }
        // The runtime stays attached and waits, as `docker run` does; it binds nothing itself.
        try agent.write(
            configYAML(svc("boxed", "port: \(serverPort)", "extraArgs: [\"--fake-bind-after\", \"/nonexistent/never\"]")))
        try agent.start(["--port-range", "\(low)-\(low + 20)", "--resync-interval", "300ms"])
        let first = try await agent.waitFor("boxed started") { agent.service("boxed", in: $0)?.pid != nil }
        let pid = try #require(agent.service("boxed", in: first)?.pid)
        FileManager.default.createFile(atPath: daemonGo, contents: nil)
        try await waitUntil("the agent saw the daemon's answers") { agent.log.contains("port answered by another process") }
        // Some probes later: the same runtime, still Starting, not restarted.
        var seen = Set<String>()
        try await agent.waitFor("three more status writes") { s in
            seen.insert(s.updatedAt)
            return seen.count >= 3
        }
        let later = try #require(agent.status().flatMap { agent.service("boxed", in: $0) })
        #expect(later.pid == pid && later.phase == .Starting && later.restarts == 0, "\(later)")
        #expect(try await agent.terminate() == 0)
    }

    /// A listener on another address of the entry's port (`[::1]:P`, IPv6-only, beside the runtime on
    /// `127.0.0.1:P`) takes none of the probe's connections: the entry is Ready on its runtime's answers,
    /// not held Starting as if a stranger answered.
    @Test func aListenerOnAnotherAddressOfTheEntrysPortDoesNotHoldItStarting() async throws {
        let agent = try AgentHarness(config: "")
        let portFile = agent.dir.appendingPathComponent("v6-port").path
        let server = """
            import os, socket, time
            probe = socket.socket(socket.AF_INET)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            s = socket.socket(socket.AF_INET6)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(("::1", port))
            s.listen()
            probe.close()
            open("\(portFile).tmp", "w").write(str(port))
            os.rename("\(portFile).tmp", "\(portFile)")
            time.sleep(600)
            """
        let other = try CleanSpawn.spawn(["/usr/bin/env", "python3", "-c", server], newGroup: true)
        defer { AgentHarness.endOutsider(other) }
        try await waitUntil("the other program listens on [::1]") { FileManager.default.fileExists(atPath: portFile) }
        let port = try #require(Int(try String(contentsOfFile: portFile, encoding: .utf8)))
        try agent.write(configYAML(svc("chat", "port: \(port)")))
        try agent.start()
        let ready = try await agent.waitFor("chat Ready on 127.0.0.1:\(port)") { agent.service("chat", in: $0)?.phase == .Ready }
        #expect(agent.service("chat", in: ready)?.port == port)
        #expect(!agent.log.contains("port answered by another process"), "\(agent.log.suffix(3000))")
        #expect(try await agent.terminate() == 0)
    }

    /// A fixed `spec.port` wins over an agent-assigned one: the entry that had that port by assignment
    /// moves to a new one, and the entry that names it starts once it is free (no PortInUse loop).
    @Test func aFixedPortTakesOverAnAgentAssignedOne() async throws {
        let agent = try AgentHarness(config: configYAML(svc("a")))
        try agent.start()
        let ready = try await agent.waitFor("a Ready") { agent.service("a", in: $0)?.phase == .Ready }
        // One crash first: the move keeps a's restart count and last ending (it is the same entry).
        kill(try #require(agent.service("a", in: ready)?.pid), SIGKILL)
        let first = try await agent.waitFor("a Ready again") { s in
            agent.service("a", in: s)?.phase == .Ready && agent.service("a", in: s)?.restarts == 1
        }
        let taken = try #require(agent.service("a", in: first)?.port)
        let before = agent.service("a", in: first)?.pid
        try agent.write(configYAML(svc("a"), svc("c", "port: \(taken)")))
        let s = try await agent.waitFor("c Ready on a's old port, a Ready on a new one") { s in
            guard let a = agent.service("a", in: s), let c = agent.service("c", in: s) else { return false }
            return a.phase == .Ready && c.phase == .Ready && a.port != taken && c.port == taken
        }
        #expect(agent.service("a", in: s)?.pid != before)
        #expect(
            agent.service("a", in: s)?.restarts == 1 && agent.service("a", in: s)?.lastSignal == SIGKILL, "\(String(describing: agent.service("a", in: s)))")
        #expect(agent.service("c", in: s)?.restarts == 0, "c never met its port in use")
        // An edit of a's own spec in the same write as a claim on its port: a new start, from 0.
        let claimed = try #require(agent.service("a", in: s)?.port)
        try agent.write(configYAML(svc("a", "contextSize: 1024"), svc("c", "port: \(taken)"), svc("d", "port: \(claimed)")))
        let edited = try await agent.waitFor("a Ready with its edit on a third port") { s in
            guard let a = agent.service("a", in: s) else { return false }
            return a.phase == .Ready && a.port != claimed && a.spec?["spec.contextSize"] == "1024"
        }
        #expect(
            agent.service("a", in: edited)?.restarts == 0 && agent.service("a", in: edited)?.lastSignal == nil,
            "\(String(describing: agent.service("a", in: edited)))")
        let log = (try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? ""
        #expect(log.contains("its agent-assigned port is now another entry's spec.port"))
        #expect(try await agent.terminate() == 0)
    }

    @Test func editingOneEntryRestartsOnlyThatEntry() async throws {
        let agent = try AgentHarness(config: Self.both)
        try agent.start()
        let before = readyPIDs(try await agent.waitFor("both Ready") { readyPIDs($0).count == 2 })

        // Change coder's runtime-relevant spec (its contextSize is llama-only, so change extraArgs).
        try agent.renameSave(
            configYAML(svc("chat", "contextSize: 512"), svc("coder", model: "tiny-mlx", "runtime: mlx-server", "extraArgs: [\"--trust-remote-code\"]")))
        let after = try await agent.waitFor("coder restarted") { s in
            let pids = readyPIDs(s)
            return s.config.generation == 2 && pids.count == 2 && pids["coder"] != before["coder"]
        }
        #expect(readyPIDs(after)["chat"] == before["chat"], "chat must keep its process")
        try await agent.waitUntilGone(try #require(before["coder"]))

        // contextSize of chat: only chat restarts.
        try agent.write(
            configYAML(svc("chat", "contextSize: 1024"), svc("coder", model: "tiny-mlx", "runtime: mlx-server", "extraArgs: [\"--trust-remote-code\"]")))
        let third = try await agent.waitFor("chat restarted") { s in
            let pids = readyPIDs(s)
            return s.config.generation == 3 && pids.count == 2 && pids["chat"] != before["chat"]
        }
        #expect(readyPIDs(third)["coder"] == readyPIDs(after)["coder"])
        try await agent.terminate()
    }

    @Test func changingAnEntrysRuntimeRestartsOnlyThatEntry() async throws {
        // Two GGUF entries; one moves from the default runtime to an explicit llamacpp alias with a different port.
        let agent = try AgentHarness(config: configYAML(svc("a"), svc("b")))
        try agent.start()
        let before = readyPIDs(try await agent.waitFor("both Ready") { readyPIDs($0).count == 2 })
        try agent.renameSave(configYAML(svc("a"), svc("b", model: "tiny-mlx", "runtime: mlx-server")))
        let after = try await agent.waitFor("b on mlx-server") { s in
            agent.service("b", in: s)?.runtime == "mlx-server" && readyPIDs(s).count == 2
        }
        #expect(readyPIDs(after)["a"] == before["a"])
        #expect(readyPIDs(after)["b"] != before["b"])
        #expect(agent.service("b", in: after)?.runtimeSource == "spec")
        try await agent.terminate()
    }

    @Test func addingAndRemovingEntries() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start()
        let first = readyPIDs(try await agent.waitFor("chat Ready") { readyPIDs($0).count == 1 })
        try agent.renameSave(configYAML(svc("chat"), svc("extra")))
        let added = try await agent.waitFor("extra Ready") { readyPIDs($0).count == 2 }
        #expect(readyPIDs(added)["chat"] == first["chat"])
        let extraPID = try #require(readyPIDs(added)["extra"])

        try agent.renameSave(configYAML(svc("chat")))
        let removed = try await agent.waitFor("extra removed") { $0.services.map(\.name) == ["chat"] }
        #expect(readyPIDs(removed)["chat"] == first["chat"])
        try await agent.waitUntilGone(extraPID)
        try await agent.terminate()
    }

    @Test func brokenEditKeepsEverythingRunning() async throws {
        let agent = try AgentHarness(config: Self.both)
        try agent.start()
        let before = readyPIDs(try await agent.waitFor("both Ready") { readyPIDs($0).count == 2 })

        // A typo, a wrong type and a syntax error, one edit at a time.
        let typo = Self.both.replacingOccurrences(of: "runtime: mlx-server", with: "runtme: mlx-server")
        try agent.renameSave(typo)
        let rejected = try await agent.waitFor("config rejected") { !$0.config.valid }
        #expect(readyPIDs(rejected) == before)
        let error = try #require(rejected.config.errors.first)
        #expect(error.file == agent.configPath)
        #expect(error.field == "InferenceService \"coder\" spec.runtme")
        #expect(error.line > 1 && error.column == 3)
        #expect(rejected.config.error?.contains("did you mean \"runtime\"?") == true)
        #expect(rejected.config.generation == 1)

        try agent.write("kind: [unclosed\n")
        let syntax = try await agent.waitFor("syntax error shown") { $0.config.error?.contains("YAML syntax error") == true }
        #expect(readyPIDs(syntax) == before)

        // Deleting the file is also a bad edit: nothing stops.
        try FileManager.default.removeItem(atPath: agent.configPath)
        let deleted = try await agent.waitFor("missing file shown") { $0.config.error?.contains("cannot read") == true }
        #expect(readyPIDs(deleted) == before)

        // Re-creating the same good content restores validity without restarting anything.
        try agent.write(Self.both)
        let restored = try await agent.waitFor("valid again") { $0.config.valid }
        #expect(readyPIDs(restored) == before)
        let log = (try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? ""
        #expect(log.contains("config accepted again"), "the recovery is logged, as the rejections were")
        #expect(restored.config.generation == 1)

        // After all that, the next good edit applies normally.
        try agent.renameSave(Self.both + "---\napiVersion: inference.llmkube.dev/v1alpha1\nkind: InferenceService\n" + svc("third"))
        let applied = try await agent.waitFor("good edit applied") { $0.config.generation == 2 && readyPIDs($0).count == 3 }
        #expect(applied.config.valid && applied.config.errors.isEmpty)
        #expect(readyPIDs(applied)["chat"] == before["chat"] && readyPIDs(applied)["coder"] == before["coder"])
        try await agent.terminate()
    }

    @Test func sigtermStopsEveryChildAndGrandchild() async throws {
        let agent = try AgentHarness(config: "")
        let marker = agent.dir.appendingPathComponent("grandchild.pid").path
        try agent.write(
            configYAML(
                svc("chat", "extraArgs: [\"--fake-grandchild\", \"\(marker)\"]"),
                svc("stubborn", model: "tiny-mlx", "runtime: mlx-server", "terminationGracePeriodSeconds: 1", "extraArgs: [\"--fake-ignore-sigterm\"]")))
        try agent.start()
        let s = try await agent.waitFor("both Ready") { readyPIDs($0).count == 2 }
        let pids = Array(readyPIDs(s).values)
        let grandchild = try #require(Int32(try String(contentsOfFile: marker, encoding: .utf8)))
        #expect(AgentHarness.isAlive(grandchild))

        #expect(try await agent.terminate() == 0)
        for pid in pids + [grandchild] { #expect(!AgentHarness.isAlive(pid), "pid \(pid) outlived the agent") }
        let final = try #require(agent.status())
        #expect(final.services.allSatisfy { $0.phase == .Stopped && $0.pid == nil })
    }

    @Test func crashingRuntimeIsRestartedWithBackoff() async throws {
        let agent = try AgentHarness(
            config: configYAML(svc("flaky", "extraArgs: [\"--fake-exit-after\", \"0.3\", \"--fake-exit-code\", \"7\"]"), svc("steady")))
        try agent.start()
        let s = try await agent.waitFor("flaky restarted twice") { s in
            (agent.service("flaky", in: s)?.restarts ?? 0) >= 2
        }
        let flaky = try #require(agent.service("flaky", in: s))
        #expect(flaky.lastExitCode == 7)
        #expect(flaky.lastTerminationReason == .Error)
        let backoff = try await agent.waitFor("CrashLoopBackOff shown") { agent.service("flaky", in: $0)?.phase == .CrashLoopBackOff }
        #expect(agent.service("flaky", in: backoff)?.nextRestartAt != nil)
        let steady = try await agent.waitFor("steady Ready") { agent.service("steady", in: $0)?.phase == .Ready }
        #expect(agent.service("steady", in: steady)?.restarts == 0)
        try await agent.terminate()
    }

    @Test func entryErrorsFailOneEntryWhileOthersRun() async throws {
        let agent = try AgentHarness(
            config: configYAML(
                svc("chat"),
                svc("coder", model: "tiny-mlx", "runtime: mlx-server"),
                svc("wrong-format", model: "tiny-mlx")))
        try agent.start(["--runtimes", "llama-server"])
        let s = try await agent.waitFor("chat Ready and others Failed") { s in
            agent.service("chat", in: s)?.phase == .Ready
                && agent.service("coder", in: s)?.phase == .Failed && agent.service("wrong-format", in: s)?.phase == .Failed
        }
        #expect(s.capabilities.runtimes == ["llama-server"])
        #expect(agent.service("coder", in: s)?.reason == .RuntimeNotEnabled)
        #expect(agent.service("wrong-format", in: s)?.reason == .FormatMismatch)

        // A missing model file fails that entry only; creating it and sending SIGHUP starts it.
        try agent.renameSave(
            configYAML(svc("chat"), svc("later", "extraArgs: [\"--x\"]").replacingOccurrences(of: "tiny-gguf", with: "late"))
                + "---\napiVersion: inference.llmkube.dev/v1alpha1\nkind: Model\nmetadata:\n  name: late\nspec:\n  source: models/late.gguf\n")
        let missing = try await agent.waitFor("later Failed") { agent.service("later", in: $0)?.reason == .ModelNotFound }
        #expect(agent.service("chat", in: missing)?.phase == .Ready)
        try Data("GGUF".utf8).write(to: agent.dir.appendingPathComponent("models/late.gguf"))
        kill(try #require(agent.process?.processIdentifier), SIGHUP)
        try await agent.waitFor("later Ready after SIGHUP") { agent.service("later", in: $0)?.phase == .Ready }
        try await agent.terminate()
    }

    @Test func fixedPortHeldByAStrangerIsReportedAndRetried() async throws {
        let holder = try LoopbackListener(backlog: 1)
        let agent = try AgentHarness(config: configYAML(svc("chat", "port: \(holder.port)"), svc("other")))
        try agent.start()
        let blocked = try await agent.waitFor("PortInUse shown") { agent.service("chat", in: $0)?.reason == .PortInUse }
        let chat = try #require(agent.service("chat", in: blocked))
        #expect(chat.phase == .CrashLoopBackOff)
        #expect(chat.message?.contains("port \(holder.port)") == true)
        try await agent.waitFor("other Ready") { agent.service("other", in: $0)?.phase == .Ready }
        holder.close()
        let ready = try await agent.waitFor("chat Ready once the port is free") { agent.service("chat", in: $0)?.phase == .Ready }
        #expect(agent.service("chat", in: ready)?.port == holder.port)
        try await agent.terminate()
    }

    @Test func restartPolicyNeverAndOnFailureAndAnEditRetriesAtOnce() async throws {
        let crash = "extraArgs: [\"--fake-exit-after\", \"0.2\", \"--fake-exit-code\", \"3\"]"
        let clean = "extraArgs: [\"--fake-exit-after\", \"0.2\", \"--fake-exit-code\", \"0\"]"
        let agent = try AgentHarness(
            config: configYAML(
                svc("never", "restartPolicy: Never", crash),
                svc("onfailure-ok", "restartPolicy: OnFailure", clean),
                svc("onfailure-crash", "restartPolicy: OnFailure", crash)))
        try agent.start()
        let s = try await agent.waitFor("final phases") { s in
            agent.service("never", in: s)?.phase == .Failed && agent.service("onfailure-ok", in: s)?.phase == .Stopped
                && (agent.service("onfailure-crash", in: s)?.restarts ?? 0) >= 2
        }
        let never = try #require(agent.service("never", in: s))
        // It exits 0.2 s after it starts: on a loaded machine that can come before its first probe passed.
        #expect([Reason.Exited, .ExitedBeforeReady].contains(never.reason) && never.lastExitCode == 3 && never.restarts == 0 && never.pid == nil)
        #expect(never.message?.contains("restartPolicy Never: not restarted") == true)
        let ok = try #require(agent.service("onfailure-ok", in: s))
        #expect(ok.reason == .Completed && ok.lastExitCode == 0 && ok.restarts == 0)

        // An edit of the Never entry starts it again at once.
        try agent.renameSave(
            configYAML(
                svc("never", "restartPolicy: Never"),
                svc("onfailure-ok", "restartPolicy: OnFailure", clean),
                svc("onfailure-crash", "restartPolicy: OnFailure", crash)))
        let edited = try await agent.waitFor("never Ready after the edit") { agent.service("never", in: $0)?.phase == .Ready }
        #expect(agent.service("never", in: edited)?.restarts == 0)
        #expect(agent.service("onfailure-ok", in: edited)?.phase == .Stopped, "untouched entries stay as they were")
        try await agent.terminate()
    }

    @Test func neverReadyIsStoppedAtTheStartupTimeoutAndBackedOff() async throws {
        let agent = try AgentHarness(config: configYAML(svc("stuck", "startupTimeoutSeconds: 1", "extraArgs: [\"--fake-never-ready\"]")))
        try agent.start()
        let s = try await agent.waitFor("stopped at the startup timeout") { s in
            let stuck = agent.service("stuck", in: s)
            return stuck?.phase == .CrashLoopBackOff && stuck?.reason == .StartupTimeout
        }
        let stuck = try #require(agent.service("stuck", in: s))
        #expect(stuck.message?.contains("not ready within 1 s") == true)
        #expect(stuck.lastSignal == 15 && stuck.lastTerminationReason == .Signaled)  // stopped with SIGTERM
        #expect(stuck.pid == nil && stuck.nextRestartAt != nil)
        try await agent.waitFor("started again") { (agent.service("stuck", in: $0)?.restarts ?? 0) >= 2 }
        try await agent.terminate()
    }

    @Test func symlinkedConfigEditedInPlaceAndConfigMapStyleSwaps() async throws {
        // models.yaml -> ..data/models.yaml, ..data -> ..v1 (how a Kubernetes ConfigMap volume looks).
        let agent = try AgentHarness(config: "")
        let fm = FileManager.default
        try fm.removeItem(atPath: agent.configPath)
        func version(_ name: String, _ text: String) throws {
            let dir = agent.dir.appendingPathComponent(name)
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: dir.appendingPathComponent("models.yaml"))
        }
        // Model sources are relative to the folder of the path the agent was given, not the link target.
        try version("..v1", configYAML(svc("chat")))
        try fm.createSymbolicLink(atPath: agent.dir.appendingPathComponent("..data").path, withDestinationPath: "..v1")
        try fm.createSymbolicLink(atPath: agent.configPath, withDestinationPath: "..data/models.yaml")
        try agent.start()
        let first = try await agent.waitFor("chat Ready") { readyPIDs($0).count == 1 }

        // The atomic-writer swap: new folder, new link, renamed over ..data.
        try version("..v2", configYAML(svc("chat"), svc("second")))
        try fm.createSymbolicLink(atPath: agent.dir.appendingPathComponent("..data_tmp").path, withDestinationPath: "..v2")
        guard rename(agent.dir.appendingPathComponent("..data_tmp").path, agent.dir.appendingPathComponent("..data").path) == 0 else {
            throw POSIXError(.EIO)
        }
        let swapped = try await agent.waitFor("second Ready after the swap") { readyPIDs($0).count == 2 }
        #expect(readyPIDs(swapped)["chat"] == readyPIDs(first)["chat"])

        // An in-place edit of the current target (another folder than the link's).
        try Data(configYAML(svc("chat"), svc("second"), svc("third")).utf8).write(to: agent.dir.appendingPathComponent("..v2/models.yaml"))
        let edited = try await agent.waitFor("third Ready after editing the target") { readyPIDs($0).count == 3 }
        #expect(readyPIDs(edited)["second"] == readyPIDs(swapped)["second"])
        try await agent.terminate()
    }

    @Test func burstOfFiftySavesStartsEachChangedEntryOnce() async throws {
        let agent = try AgentHarness(config: configYAML(svc("steady")))
        try agent.start()
        let first = try await agent.waitFor("steady Ready") { readyPIDs($0).count == 1 }
        // 50 saves as fast as possible, alternating rename-saves and in-place writes; the last adds "late".
        for i in 0..<50 {
            let text =
                configYAML(svc("steady"), svc("burst", "contextSize: \(1000 + i)"))
                + (i == 49 ? "---\napiVersion: inference.llmkube.dev/v1alpha1\nkind: InferenceService\n" + svc("late") + "\n" : "")
            if i.isMultiple(of: 2) { try agent.renameSave(text) } else { try agent.write(text) }
        }
        let settled = try await agent.waitFor("last content applied") { s in
            readyPIDs(s).count == 3 && s.services.first { $0.name == "burst" }?.spec?["spec.contextSize"] == "1049"
        }
        #expect(readyPIDs(settled)["steady"] == readyPIDs(first)["steady"], "an unchanged entry was restarted")
        // No duplicate children: exactly one fake runtime per entry is alive under this test's folder.
        let running = try runningFakeRuntimes(in: agent.dir.path)
        #expect(Set(running) == Set(readyPIDs(settled).values), "fake runtimes alive: \(running), ready: \(readyPIDs(settled))")
        try await agent.terminate()
    }
}

extension AgentIntegrationTests {
    @Test func statusFileIsNeverPartialAcrossAThousandWrites() async throws {
        // A "runtime" that exits at once (/bin/false), restarted every 10 ms: three status writes per cycle,
        // cheap enough to reach 1,000 writes quickly even on a loaded machine.
        let agent = try AgentHarness(config: configYAML(svc("flapping"), svc("steady", model: "tiny-mlx", "runtime: mlx-server")))
        try agent.start(["--backoff-initial", "10ms", "--backoff-max", "10ms", "--llama-server-bin", "/bin/false", "--status-write-interval", "1ms"])
        var reads = 0, versions = Set<String>(), last = ""
        let clock = ContinuousClock()
        let end = clock.now + AgentHarness.deadline
        while versions.count < 1000 && clock.now < end {
            guard let data = FileManager.default.contents(atPath: agent.statusPath) else { continue }
            reads += 1
            do {
                let status = try JSONDecoder().decode(AgentStatus.self, from: data)
                if status.updatedAt != last {
                    last = status.updatedAt
                    versions.insert(status.updatedAt + "\(status.services.map(\.restarts))")
                }
            } catch {
                Issue.record("read \(reads): not a whole status document (\(data.count) bytes): \(error)")
                break
            }
        }
        #expect(versions.count >= 1000, "saw \(versions.count) versions in \(reads) reads")
        try await agent.terminate()
    }
}

extension AgentIntegrationTests {
    /// Regression: stopping a service while its HTTP probe was in flight cancelled a URLSession task,
    /// which can deadlock on Linux (swift-corelibs-foundation#5412) and froze the agent for good.
    @Test func editsWhileProbesAreInFlightNeverWedgeTheAgent() async throws {
        let agent = try AgentHarness(
            config: configYAML(svc("quick", "contextSize: 1000"), svc("slow", "contextSize: 1000", "extraArgs: [\"--fake-slow-health\", \"0.3\"]")))
        try agent.start()
        let rounds = 40
        for round in 1...rounds {
            try await agent.waitFor("started (round \(round))") { s in
                s.config.generation == round && s.services.allSatisfy { $0.pid != nil }
            }
            // Stop both while their first probes run: "quick" answers at once, "slow" after 0.3 s.
            try agent.renameSave(
                configYAML(
                    svc("quick", "contextSize: \(1000 + round)"), svc("slow", "contextSize: \(1000 + round)", "extraArgs: [\"--fake-slow-health\", \"0.3\"]")))
        }
        let settled = try await agent.waitFor("the last edit applied") { s in
            s.config.generation == rounds + 1 && s.services.allSatisfy { $0.spec?["spec.contextSize"] == "\(1000 + rounds)" && $0.phase == .Ready }
        }
        // No runtime leaked by a stop that landed mid-start (a spawn abandoned on cancellation used to orphan it).
        #expect(Set(try runningFakeRuntimes(in: agent.dir.path)) == Set(settled.services.compactMap(\.pid)))
        #expect(try await agent.terminate() == 0)
        #expect(try runningFakeRuntimes(in: agent.dir.path).isEmpty)
    }
}

extension AgentIntegrationTests {
    @Test func missingModelIsRetriedWithoutASignal() async throws {
        let late = "---\napiVersion: inference.llmkube.dev/v1alpha1\nkind: Model\nmetadata:\n  name: late\nspec:\n  source: models/late.gguf\n"
        let agent = try AgentHarness(config: configYAML(svc("later", model: "late")) + late)
        try agent.start()
        try await agent.waitFor("ModelNotFound") { agent.service("later", in: $0)?.reason == .ModelNotFound }
        try Data("GGUF".utf8).write(to: agent.dir.appendingPathComponent("models/late.gguf"))
        // No edit, no SIGHUP: the periodic re-check (--resync-interval, 10 s by default) starts it.
        try await agent.waitFor("later Ready once its model exists") { agent.service("later", in: $0)?.phase == .Ready }
        try await agent.terminate()
    }

    @Test func restartOfAStubbornRuntimeShowsTerminatingThenKillsAfterGrace() async throws {
        func config(_ ctx: Int) -> String {
            configYAML(svc("stubborn", "contextSize: \(ctx)", "terminationGracePeriodSeconds: 10", "extraArgs: [\"--fake-ignore-sigterm\"]"))
        }
        let agent = try AgentHarness(config: config(1000))
        try agent.start()
        let first = try await agent.waitFor("Ready") { agent.service("stubborn", in: $0)?.phase == .Ready }
        let oldPID = try #require(agent.service("stubborn", in: first)?.pid)
        try agent.renameSave(config(2000))
        let terminating = try await agent.waitFor("Terminating during the grace period") { agent.service("stubborn", in: $0)?.phase == .Terminating }
        #expect(agent.service("stubborn", in: terminating)?.ready == false)
        #expect(AgentHarness.isAlive(oldPID), "SIGTERM is ignored, so it lives until the 10 s grace period ends")
        let restarted = try await agent.waitFor("Ready with a new process") { s in
            let x = agent.service("stubborn", in: s)
            return x?.phase == .Ready && x?.pid != oldPID
        }
        #expect(agent.service("stubborn", in: restarted)?.spec?["spec.contextSize"] == "2000")
        #expect(!AgentHarness.isAlive(oldPID))
        try await agent.terminate()
    }
}

extension AgentIntegrationTests {
    @Test func aRestartedAgentStopsWhatAKilledOneLeftButNeverAStranger() async throws {
        let marker = "grandchild.pid"
        let agent = try AgentHarness(config: "")
        // chat ignores SIGTERM and may take 300 s to stop: after the agent's SIGKILL its guard waits that
        // long before SIGKILL, so here it is the next agent's ledger that must stop it.
        try agent.write(
            configYAML(
                svc(
                    "chat", "terminationGracePeriodSeconds: 300",
                    "extraArgs: [\"--fake-ignore-sigterm\", \"--fake-grandchild\", \"\(agent.dir.appendingPathComponent(marker).path)\", \"--fake-setsid-grandchild\", \"\(agent.dir.appendingPathComponent("daemon.pid").path)\"]"
                ),
                svc("coder", model: "tiny-mlx", "runtime: mlx-server")))
        try agent.start()
        let first = try await agent.waitFor("both Ready") { readyPIDs($0).count == 2 }
        let chat = try #require(readyPIDs(first)["chat"])
        let old = Array(readyPIDs(first).values)
        let grandchild = try #require(Int32(try String(contentsOfFile: agent.dir.appendingPathComponent(marker).path, encoding: .utf8)))
        let escaped = try await pidFromFile(agent.dir.appendingPathComponent("daemon.pid").path)

        // A stranger whose pid the ledger claims, with another start time (as after pid reuse).
        let stranger = Process()
        stranger.executableURL = URL(fileURLWithPath: "/bin/sleep")
        stranger.arguments = ["300"]
        try stranger.run()
        defer { kill(stranger.processIdentifier, SIGKILL) }  // SIGTERM may be blocked in what the test spawns
        let ledgerPath = agent.dir.appendingPathComponent("models.children.json").path
        // The ledger coalesces writes that come within 50 ms of each other: wait for both entries.
        var ledger: [[String: Any]] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            ledger = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ledgerPath)))) as? [[String: Any]] ?? []
            if ledger.count == 2 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(ledger.count == 2)
        ledger.append(["service": "ghost", "process": ["pid": Int(stranger.processIdentifier), "startTime": 1, "bootID": "x"]])

        // SIGKILL the agent: it cannot clean up.
        kill(try #require(agent.process?.processIdentifier), SIGKILL)
        agent.process?.waitUntilExit()
        try JSONSerialization.data(withJSONObject: ledger).write(to: URL(fileURLWithPath: ledgerPath))
        #expect(AgentHarness.isAlive(chat) && AgentHarness.isAlive(grandchild), "still inside its 300 s grace period")
        // The next chat stops normally, so the test can end quickly.
        try agent.write(
            configYAML(
                svc("chat", "extraArgs: [\"--fake-grandchild\", \"\(agent.dir.appendingPathComponent(marker).path)\"]"),
                svc("coder", model: "tiny-mlx", "runtime: mlx-server")))

        try agent.start()
        let second = try await agent.waitFor("both Ready under the new agent") { s in
            readyPIDs(s).count == 2 && Set(readyPIDs(s).values).isDisjoint(with: old)
        }
        // The helper that left the group with setsid (and was re-parented) is in the guard's tree only
        // where the guard is a subreaper (Linux); the portable guard cannot follow it.
        if !Platform.tracksDetachedHelpers { kill(escaped, SIGKILL) }
        for pid in old + [grandchild, escaped] { try await agent.waitUntilGone(pid) }
        #expect(stranger.isRunning, "a process the ledger named but that is not the recorded one must live")
        let newGrandchild = try #require(Int32(try String(contentsOfFile: agent.dir.appendingPathComponent(marker).path, encoding: .utf8)))
        #expect(Set(try runningFakeRuntimes(in: agent.dir.path)) == Set(readyPIDs(second).values).union([newGrandchild]))
        try await agent.terminate()
    }
}

extension AgentIntegrationTests {
    @Test func childOutputGoesToARotatedLogNamedInTheStatus() async throws {
        // 500 lines of 100 bytes, half on stdout and half on stderr, into files of at most 20,000 bytes, 3 kept:
        // all 50,000 bytes fit in the 3 files, so every line must be found once, none cut.
        let agent = try AgentHarness(config: configYAML(svc("chatty", "extraArgs: [\"--fake-spew\", \"500\"]")))
        try agent.start(["--log-max-bytes", "20000", "--log-max-files", "3"])
        let s = try await agent.waitFor("chatty Ready") { agent.service("chatty", in: $0)?.phase == .Ready }
        let logFile = try #require(agent.service("chatty", in: s)?.logFile)
        #expect(logFile == agent.dir.appendingPathComponent("models.logs/chatty.log").path)
        let folder = (logFile as NSString).deletingLastPathComponent
        func logs() -> [String: String] {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix("chatty.log") }
            return Dictionary(uniqueKeysWithValues: names.map { ($0, (try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8)) ?? "") })
        }
        try await agent.waitFor("every line reached the logs") { _ in
            let text = logs().values.joined()
            return text.contains("spew 00000498") && text.contains("spew 00000499")
        }
        let files = logs()
        #expect(files.keys.sorted() == ["chatty.log", "chatty.log.1", "chatty.log.2"])
        for (name, text) in files {
            #expect(text.utf8.count <= 20_000, "\(name) has \(text.utf8.count) bytes")
        }
        let lines = files.values.joined().split(separator: "\n").filter { $0.hasPrefix("spew ") }
        #expect(lines.count == 500 && Set(lines).count == 500, "stdout (even) and stderr (odd) lines, each once and whole")
        try await agent.terminate()
    }
}

extension AgentIntegrationTests {
    @Test func aServerThatTurnsUnhealthyIsRestartedByLiveness() async throws {
        // Ready (200), then 503 from 1 s on while the process stays alive: liveness must restart it.
        let agent = try AgentHarness(config: configYAML(svc("wedged", "extraArgs: [\"--fake-unhealthy-after\", \"1\"]"), svc("fine")))
        try agent.start(["--liveness-period", "200ms", "--liveness-failure-threshold", "3"])
        let first = try await agent.waitFor("wedged Ready") { agent.service("wedged", in: $0)?.phase == .Ready }
        let oldPID = try #require(agent.service("wedged", in: first)?.pid)
        let failed = try await agent.waitFor("liveness failure") { agent.service("wedged", in: $0)?.reason == .LivenessFailed }
        let wedged = try #require(agent.service("wedged", in: failed))
        #expect(wedged.message?.contains("failed 3 times") == true)
        #expect(wedged.message?.contains("503") == true)
        try await agent.waitUntilGone(oldPID)  // the old process group was stopped before the restart
        try await agent.waitFor("wedged restarted and Ready") { s in
            let w = agent.service("wedged", in: s)
            return w?.phase == .Ready && w?.pid != oldPID && (w?.restarts ?? 0) >= 1
        }
        #expect(agent.service("fine", in: try #require(agent.status()))?.restarts == 0)
        try await agent.terminate()
    }
}

extension AgentIntegrationTests {
    @Test func anEditThatChangesNothingTheRuntimeSeesKeepsTheProcessButShowsTheNewSpec() async throws {
        let agent = try AgentHarness(config: configYAML(svc("coder", model: "tiny-mlx", "runtime: mlx-server")))
        try agent.start()
        let first = try await agent.waitFor("Ready") { agent.service("coder", in: $0)?.phase == .Ready }
        // mlx-server has no context size flag: same argv, same process; the status still shows the edit, with a warning.
        try agent.renameSave(configYAML(svc("coder", model: "tiny-mlx", "runtime: mlx-server", "contextSize: 4096")))
        let edited = try await agent.waitFor("spec shown") { agent.service("coder", in: $0)?.spec?["spec.contextSize"] == "4096" }
        #expect(agent.service("coder", in: edited)?.pid == agent.service("coder", in: first)?.pid)
        #expect(edited.config.warnings.count == 1)
        #expect(edited.config.warnings.first?.contains("mlx-server has no setting for spec.contextSize; it has no effect [IgnoredField]") == true)
        try await agent.terminate()
    }
}

extension AgentIntegrationTests {
    @Test func aSecondAgentOnTheSameStatusFileRefusesToStart() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start()
        let first = try await agent.waitFor("chat Ready") { readyPIDs($0).count == 1 }
        let second = try runAgentCommand(["--config", agent.configPath, "--llama-server-bin", AgentHarness.fakeRuntime])
        #expect(second.status == 1)
        #expect(second.err.contains("another metal-agent (pid \(agent.process!.processIdentifier)) already runs with this status file"))
        // It refuses before it looks at the runtimes: no line of theirs suggests it started.
        #expect(!second.err.contains("runtimes enabled"), "\(second.err)")
        #expect(readyPIDs(try #require(agent.status())) == readyPIDs(first), "the running agent's runtimes are untouched")
        try await agent.terminate()
    }

    @Test func symlinkToAFileInTheSameFolderIsWatched() async throws {
        let agent = try AgentHarness(config: "")
        let real = agent.dir.appendingPathComponent("real.yaml")
        try FileManager.default.removeItem(atPath: agent.configPath)
        try Data(configYAML(svc("chat")).utf8).write(to: real)
        try FileManager.default.createSymbolicLink(atPath: agent.configPath, withDestinationPath: "real.yaml")
        try agent.start(["--resync-interval", "1h"])  // only a file event can apply the edit in time
        try await agent.waitFor("chat Ready") { readyPIDs($0).count == 1 }
        try Data(configYAML(svc("chat"), svc("second")).utf8).write(to: real)
        try await agent.waitFor("edit of the target applied") { readyPIDs($0).count == 2 }
        try await agent.terminate()
    }

    @Test func planKeepsAnEntryThatEndedUnderItsRestartPolicy() async throws {
        let config = configYAML(svc("done", "restartPolicy: OnFailure", "extraArgs: [\"--fake-exit-after\", \"0.2\", \"--fake-exit-code\", \"0\"]"))
        let agent = try AgentHarness(config: config)
        try agent.start()
        try await agent.waitFor("done Stopped") { agent.service("done", in: $0)?.reason == .Completed }
        let r = try runAgentCommand(["plan", "--config", agent.configPath, "--status-file", agent.statusPath, "--output", "json"])
        let plan = try JSONDecoder().decode(Plan.self, from: Data(r.out.utf8))
        #expect(plan.steps.first?.action == .keep, "\(plan.steps)")
        try await agent.terminate()
        #expect(agent.service("done", in: try #require(agent.status()))?.reason == .Completed, "shutdown keeps why it ended")
    }
}

extension AgentIntegrationTests {
    @Test func aSlowStopHoldsBackNeitherOtherEntriesNorTheNextEdit() async throws {
        // "stubborn" ignores SIGTERM and has 20 s of grace: its restart takes 20 s. Everything else must go on.
        let stubborn = { (ctx: Int) in svc("stubborn", "contextSize: \(ctx)", "terminationGracePeriodSeconds: 20", "extraArgs: [\"--fake-ignore-sigterm\"]") }
        let agent = try AgentHarness(config: configYAML(stubborn(1000), svc("quick", "contextSize: 1000")))
        try agent.start()
        let first = try await agent.waitFor("both Ready") { readyPIDs($0).count == 2 }
        try agent.renameSave(configYAML(stubborn(2000), svc("quick", "contextSize: 200")))
        try await agent.waitFor("quick restarted while stubborn is still stopping") { s in
            agent.service("stubborn", in: s)?.phase == .Terminating
                && readyPIDs(s)["quick"].map { $0 != first.services.first { $0.name == "quick" }?.pid } == true
        }
        try agent.renameSave(configYAML(stubborn(2000), svc("quick", "contextSize: 200"), svc("third")))
        try await agent.waitFor("the next edit applied while stubborn is still stopping") { s in
            agent.service("stubborn", in: s)?.phase == .Terminating && agent.service("third", in: s)?.phase == .Ready && s.config.generation == 3
        }
        try await agent.waitFor("stubborn restarted after its grace") { s in
            let x = agent.service("stubborn", in: s)
            return x?.phase == .Ready && x?.spec?["spec.contextSize"] == "2000"
        }
        try await agent.terminate()
    }
}

/// Pids of live fake-runtime processes whose model lives under `folder`.
func runningFakeRuntimes(in folder: String) throws -> [Int32] {
    ProcFS.pids().filter { pid in
        guard ProcFS.isAlive(pid), let text = ProcFS.commandLine(of: pid) else { return false }
        // The runtime itself, not the `metal-agent guard` running it (whose arguments name it too).
        return text.contains("fake-runtime --model \(folder)/") && !text.hasPrefix("metal-agent guard ")
    }
}

/// The session id of `pid`, nil when it is gone.
func sessionID(of pid: Int32) -> Int32? { ProcFS.sessionID(of: pid) }

/// Reads a pid a fake runtime wrote to `path`, waiting for the file (written once the helper runs).
func pidFromFile(_ path: String) async throws -> Int32 {
    let clock = ContinuousClock()
    let end = clock.now + AgentHarness.deadline
    while clock.now < end {
        if let text = try? String(contentsOfFile: path, encoding: .utf8), let pid = Int32(text) { return pid }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw HarnessError.timedOut("pid file \(path)")
}

/// No orphans: what the agent started dies with it, and helpers that escaped with setsid die with their runtime.
extension AgentIntegrationTests {
    @Test func runtimesDoNotOutliveASIGKILLedAgent() async throws {
        let agent = try AgentHarness(config: "")
        let helper = agent.dir.appendingPathComponent("helper.pid").path
        let daemon = agent.dir.appendingPathComponent("daemon.pid").path
        try agent.write(
            configYAML(
                svc(
                    "chat", "terminationGracePeriodSeconds: 5", "extraArgs: [\"--fake-grandchild\", \"\(helper)\", \"--fake-setsid-grandchild\", \"\(daemon)\"]"
                ),
                svc("coder", model: "tiny-mlx", "runtime: mlx-server", "terminationGracePeriodSeconds: 5", "extraArgs: [\"--fake-ignore-sigterm\"]")))
        try agent.start()
        let ready = try await agent.waitFor("both Ready") { readyPIDs($0).count == 2 }
        let runtimes = Array(readyPIDs(ready).values)
        let groups = ready.services.compactMap { $0.processGroup }
        #expect(groups.count == 2 && Set(groups).isDisjoint(with: runtimes), "each runtime runs under its own guard")
        let helpers = [try await pidFromFile(helper), try await pidFromFile(daemon)]
        #expect(helpers.allSatisfy(AgentHarness.isAlive))

        // SIGKILL: the agent cleans up nothing itself, and no agent is started again.
        let agentPID = try #require(agent.process?.processIdentifier)
        kill(agentPID, SIGKILL)
        agent.process?.waitUntilExit()
        // The stubborn one ignores SIGTERM: it goes at the end of its 5 s grace period. The helper that
        // left the group with setsid goes too where the guard tracks it (Linux; not the portable guard).
        if !Platform.tracksDetachedHelpers { kill(helpers[1], SIGKILL) }
        for pid in runtimes + helpers + groups { try await agent.waitUntilGone(pid) }
        #expect(try runningFakeRuntimes(in: agent.dir.path).isEmpty)
    }

    @Test(.enabled(if: Platform.tracksDetachedHelpers, "a helper that left the process group is followed by the Linux guard only"))
    func aHelperThatCalledSetsidGoesWithItsRuntime() async throws {
        let agent = try AgentHarness(config: "")
        let daemon = agent.dir.appendingPathComponent("daemon.pid").path
        let crashDaemon = agent.dir.appendingPathComponent("crash-daemon.pid").path
        try agent.write(
            configYAML(
                svc("chat", "extraArgs: [\"--fake-setsid-grandchild\", \"\(daemon)\"]"),
                svc("crashy", "extraArgs: [\"--fake-setsid-grandchild\", \"\(crashDaemon)\", \"--fake-exit-after\", \"0.5\"]"),
                svc("steady")))
        try agent.start()
        let ready = try await agent.waitFor("chat Ready") { agent.service("chat", in: $0)?.phase == .Ready }
        let chat = try #require(agent.service("chat", in: ready)?.pid)
        let escaped = try await pidFromFile(daemon)
        #expect(AgentHarness.isAlive(escaped))
        #expect(sessionID(of: escaped) != sessionID(of: chat), "the helper left the runtime's session and group")

        // A runtime that crashes: its escaped helper is gone before the restart.
        let firstCrashDaemon = try await pidFromFile(crashDaemon)
        try await agent.waitFor("crashy restarted") { (agent.service("crashy", in: $0)?.restarts ?? 0) >= 1 }
        try await agent.waitUntilGone(firstCrashDaemon)

        // An entry removed from the file: its escaped helper goes with it.
        try agent.renameSave(configYAML(svc("steady")))
        try await agent.waitFor("chat and crashy removed") { $0.services.map(\.name) == ["steady"] }
        try await agent.waitUntilGone(chat)
        try await agent.waitUntilGone(escaped)
        try await agent.terminate()
    }

    @Test func aKilledGuardTakesItsRuntimeAndHelpersWithItAndTheServiceRestarts() async throws {
        let agent = try AgentHarness(config: "")
        let daemon = agent.dir.appendingPathComponent("daemon.pid").path
        try agent.write(configYAML(svc("chat", "extraArgs: [\"--fake-setsid-grandchild\", \"\(daemon)\"]")))
        try agent.start()
        let ready = try await agent.waitFor("Ready") { readyPIDs($0).count == 1 }
        let runtime = try #require(readyPIDs(ready)["chat"])
        let escaped = try await pidFromFile(daemon)
        try FileManager.default.removeItem(atPath: daemon)
        let guardPID = try #require(agent.service("chat", in: ready)?.processGroup)
        kill(guardPID, SIGKILL)
        try await agent.waitUntilGone(runtime)  // parent-death signal (Linux); the agent's stop of the group (portable)
        if Platform.tracksDetachedHelpers {
            try await agent.waitUntilGone(escaped)  // handed to the agent (a subreaper), which stops it
        } else {
            kill(escaped, SIGKILL)  // the portable guard does not follow a helper that left the group
        }
        let again = try await agent.waitFor("Ready again with a new runtime") { s in
            readyPIDs(s)["chat"].map { $0 != runtime } ?? false
        }
        let chat = try #require(agent.service("chat", in: again))
        #expect(chat.restarts == 1 && chat.lastSignal == 9 && chat.lastTerminationReason == .Killed)
        try await agent.terminate()
    }

    @Test func strayAndJobControlSignalsDoNotEndOrStopAGuard() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start()
        let ready = try await agent.waitFor("Ready") { readyPIDs($0).count == 1 }
        let guardPID = try #require(agent.service("chat", in: ready)?.processGroup)
        for signal in [SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP, SIGTTIN, SIGVTALRM, SIGPIPE] { kill(guardPID, signal) }
        // Then a real stop request: had a stray signal ended the guard, the status would show that signal.
        kill(guardPID, SIGTERM)
        let again = try await agent.waitFor("restarted") { (agent.service("chat", in: $0)?.restarts ?? 0) == 1 }
        #expect(agent.service("chat", in: again)?.lastSignal == SIGTERM, "the runtime's own ending: SIGTERM passed on by its guard")
        try await agent.terminate()
    }

    @Test func aStoppedGuardIsOvertakenAndItsWholeTreeKilled() async throws {
        let agent = try AgentHarness(config: "")
        let daemon = agent.dir.appendingPathComponent("daemon.pid").path
        try agent.write(configYAML(svc("chat", "terminationGracePeriodSeconds: 1", "extraArgs: [\"--fake-setsid-grandchild\", \"\(daemon)\"]"), svc("steady")))
        try agent.start()
        let ready = try await agent.waitFor("Ready") { readyPIDs($0).count == 2 }
        let runtime = try #require(readyPIDs(ready)["chat"])
        let escaped = try await pidFromFile(daemon)
        let guardPID = try #require(agent.service("chat", in: ready)?.processGroup)
        kill(guardPID, SIGSTOP)  // a guard that cannot act: the agent's last resort (grace + 10 s) must do it all
        // Without a subreaper the helper that left with setsid is not in the tree (portable configuration).
        if !Platform.tracksDetachedHelpers { kill(escaped, SIGKILL) }
        try agent.renameSave(configYAML(svc("steady")))
        for pid in [runtime, escaped, guardPID] { try await agent.waitUntilGone(pid) }
        try await agent.terminate()
    }

    @Test func aKilledRuntimeIsReportedWithItsOwnSignal() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start()
        let ready = try await agent.waitFor("Ready") { readyPIDs($0).count == 1 }
        let runtime = try #require(readyPIDs(ready)["chat"])
        kill(runtime, SIGSEGV)
        let again = try await agent.waitFor("restarted") { (agent.service("chat", in: $0)?.restarts ?? 0) == 1 }
        let chat = try #require(agent.service("chat", in: again))
        #expect(chat.lastSignal == SIGSEGV && chat.lastExitCode == 128 + SIGSEGV)
        try await agent.terminate()
    }

    @Test func aMissingRuntimeBinaryIsASpawnFailureNotACrash() async throws {
        // The binary is there when the agent starts (it checks its flags) and gone when the entry starts.
        let agent = try AgentHarness(config: configYAML())
        let binary = agent.dir.appendingPathComponent("no-such-server").path
        try FileManager.default.copyItem(atPath: AgentHarness.fakeRuntime, toPath: binary)
        try agent.start(["--mlx-server-bin", binary])
        try await agent.waitFor("started") { $0.config.generation == 1 }
        try FileManager.default.removeItem(atPath: binary)
        try agent.renameSave(configYAML(svc("chat", model: "tiny-mlx", "runtime: mlx-server")))
        let failed = try await agent.waitFor("SpawnFailed") { agent.service("chat", in: $0)?.reason == .SpawnFailed }
        let chat = try #require(agent.service("chat", in: failed))
        #expect(chat.message?.contains("no-such-server") == true, "\(chat.message ?? "")")
        #expect(chat.phase == .CrashLoopBackOff)
        try await agent.terminate()
    }
}
