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

/// Faults from the field (issue 11), each reproduced with the real agent binary and fake runtimes.
@Suite(.serialized) struct FieldFaultTests {
    func readyPID(_ name: String, _ s: AgentStatus) -> Int32? {
        s.services.first { $0.name == name && $0.phase == .Ready }?.pid
    }

    // MARK: 1. The agent's own output can kill it

    /// The field report: the reader of the agent's stderr (a `tee`) goes away; the next log line used
    /// to kill the agent with SIGPIPE, and its runtimes with it.
    @Test func aClosedStderrPipeNeitherKillsTheAgentNorStopsSupervision() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        let pipe = Pipe()
        // Close-on-exec (Foundation's Pipe is not): a process another test execs meanwhile must not hold
        // the read end, or the agent's write finds a reader and never fails (Process dup2s it for the agent).
        for end in [pipe.fileHandleForReading, pipe.fileHandleForWriting] { _ = fcntl(end.fileDescriptor, F_SETFD, FD_CLOEXEC) }
        try agent.start(stderr: pipe.fileHandleForWriting)
        try pipe.fileHandleForWriting.close()
        let first = try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        // The reader goes away, as a `tee` that exits does.
        try pipe.fileHandleForReading.close()
        // An edit makes the agent log: that write fails with EPIPE (without the fix: SIGPIPE, agent dead).
        try agent.write(configYAML(svc("chat"), svc("extra")))
        let s = try await agent.waitFor("extra Ready and the closed stderr reported") { s in
            readyPID("extra", s) != nil && (s.warnings ?? []).contains { $0.contains("stderr cannot be written") }
        }
        #expect(agent.process?.isRunning == true)
        #expect(readyPID("chat", s) == readyPID("chat", first), "chat kept its process")
        #expect((s.warnings ?? []).filter { $0.contains("stderr") }.count == 1, "said once: \(String(describing: s.warnings))")
        #expect((s.warnings ?? []).contains { $0.contains("Broken pipe") }, "\(String(describing: s.warnings))")
        #expect(try await agent.terminate() == 0)
    }

    /// The same kind: stderr is a file that reaches the file-size limit (`ulimit -f`); the write past
    /// it used to kill the agent with SIGXFSZ.
    @Test func stderrPastTheFileSizeLimitNeitherKillsTheAgentNorStopsSupervision() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        // 16 blocks of 512 bytes (POSIX sh): 8 KiB, enough for the status file, not for a debug log.
        try agent.start(shell: "ulimit -f 16")
        _ = try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        var round = 0
        let clock = ContinuousClock()
        let end = clock.now + AgentHarness.deadline
        // Edits until the agent's log has passed the limit.
        while (try? FileManager.default.attributesOfItem(atPath: agent.stderrPath)[.size] as? Int) ?? 0 < 8192 - 200, clock.now < end {
            round += 1
            try agent.write(configYAML(svc("chat"), svc("extra", "contextSize: \(256 + round)")))
            _ = try await agent.waitFor("edit \(round) applied") { $0.config.generation == round + 1 }
        }
        try agent.write(configYAML(svc("chat"), svc("last")))
        let s = try await agent.waitFor("last Ready and the full stderr reported") { s in
            readyPID("last", s) != nil && (s.warnings ?? []).contains { $0.contains("stderr cannot be written (File too large)") }
        }
        #expect(agent.process?.isRunning == true)
        #expect(readyPID("chat", s) != nil)
        #expect(try await agent.terminate() == 0)
    }

    // MARK: 6. Runtime versions differ

    /// A stand-in for one llama-server build: the fake runtime with `--fake-build N`, which parses
    /// `--flash-attn` as that build does; each `--version` call is counted in `<script>.versions`.
    func llamaBuild(_ build: Int, at path: String) throws {
        let script = """
            #!/bin/sh
            [ "$1" = --version ] && echo x >> "\(path).versions"
            exec "\(AgentHarness.fakeRuntime)" --fake-build \(build) "$@"

            """
        let tmp = path + ".new"
        try script.write(toFile: tmp, atomically: false, encoding: .utf8)
        chmod(tmp, 0o755)
        guard rename(tmp, path) == 0 else { throw POSIXError(.EIO) }
    }

    func versionCalls(_ path: String) -> Int {
        ((try? String(contentsOfFile: path + ".versions", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    func argv(_ endpoint: String) async throws -> [String] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: endpoint + "/argv")!)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])["argv"] as? [String] ?? []
    }

    /// The field report: an older llama-server (before b6325) rejects `--flash-attn on`; the entry
    /// crash-looped. The agent reads the version once, shows it, and passes the bare switch; after an
    /// upgrade in place it reads the new version and passes `--flash-attn on`.
    @Test func flashAttentionIsSpelledForTheBuildAndTheVersionIsReadOncePerBinary() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat", "flashAttention: true")))
        let llama = agent.dir.appendingPathComponent("llama-server").path
        try llamaBuild(6324, at: llama)
        try agent.start(["--llama-server-bin", llama])
        var s = try await agent.waitFor("chat Ready on b6324") { readyPID("chat", $0) != nil }
        #expect(s.capabilities.versions?["llama-server"] == "version: 6324 (0123abcd)")
        let old = try await argv(try #require(agent.service("chat", in: s)?.endpoint))
        #expect(old.contains("--flash-attn") && !old.contains("on"), "\(old)")

        // Edits and re-checks do not read the version again while the binary is unchanged.
        try agent.write(configYAML(svc("chat", "flashAttention: true"), svc("other")))
        s = try await agent.waitFor("other Ready") { readyPID("other", $0) != nil }
        #expect(versionCalls(llama) == 1)

        // An upgrade in place (new size and mtime): read again, and chat restarts with the new spelling.
        let before = readyPID("chat", s)
        try llamaBuild(6325, at: llama)
        kill(agent.process!.processIdentifier, SIGHUP)
        s = try await agent.waitFor("chat restarted on b6325") { s in
            s.capabilities.versions?["llama-server"] == "version: 6325 (0123abcd)" && readyPID("chat", s) != nil && readyPID("chat", s) != before
        }
        let new = try await argv(try #require(agent.service("chat", in: s)?.endpoint))
        let i = try #require(new.firstIndex(of: "--flash-attn"))
        #expect(new[i + 1] == "on", "\(new)")
        #expect(versionCalls(llama) == 2, "read once more, for the new binary")
        #expect(try await agent.terminate() == 0)
    }

    /// The other side of the change: a new build rejects the bare switch; `flashAttention: false`
    /// gets `--flash-attn off` there, and nothing on an old build (whose default is off).
    @Test func flashAttentionOffOnANewBuildAndOnAnOldOne() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat", "flashAttention: false")))
        let llama = agent.dir.appendingPathComponent("llama-server").path
        try llamaBuild(11434, at: llama)
        try agent.start(["--llama-server-bin", llama])
        let s = try await agent.waitFor("chat Ready on b11434") { readyPID("chat", $0) != nil }
        let args = try await argv(try #require(agent.service("chat", in: s)?.endpoint))
        let i = try #require(args.firstIndex(of: "--flash-attn"))
        #expect(args[i + 1] == "off")
        #expect(try await agent.terminate() == 0)

        let old = try AgentHarness(config: configYAML(svc("chat", "flashAttention: false")))
        let oldLlama = old.dir.appendingPathComponent("llama-server").path
        try llamaBuild(6000, at: oldLlama)
        try old.start(["--llama-server-bin", oldLlama])
        let t = try await old.waitFor("chat Ready on b6000") { readyPID("chat", $0) != nil }
        #expect(!(try await argv(try #require(old.service("chat", in: t)?.endpoint))).contains("--flash-attn"))
        #expect(try await old.terminate() == 0)
    }

    // MARK: 3. Folders and files the agent writes can vanish or fill up

    func logFile(_ agent: AgentHarness, _ name: String) -> String {
        agent.dir.appendingPathComponent("models.logs/\(name).log").path
    }

    /// The field report: the log folder deleted while the agent runs; an edited entry could not start
    /// again ("cannot open log file", forever).
    @Test func aDeletedLogFolderIsCreatedAgainForAnEditedEntry() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start()
        let first = try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        try FileManager.default.removeItem(atPath: agent.dir.appendingPathComponent("models.logs").path)
        try agent.write(configYAML(svc("chat", "contextSize: 1024")))
        let s = try await agent.waitFor("chat Ready again") { s in readyPID("chat", s) != nil && readyPID("chat", s) != readyPID("chat", first) }
        #expect(!agent.service("chat", in: s).map { ($0.message ?? "").contains("log") }!, "no log problem left")
        #expect(FileManager.default.fileExists(atPath: logFile(agent, "chat")))
        #expect(try await agent.terminate() == 0)
    }

    /// The same kind: the folder deleted, then the runtime crashes; its restart re-creates the folder.
    @Test func aDeletedLogFolderIsCreatedAgainForACrashedEntry() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start()
        let first = try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        try FileManager.default.removeItem(atPath: agent.dir.appendingPathComponent("models.logs").path)
        kill(try #require(readyPID("chat", first)), SIGKILL)
        let s = try await agent.waitFor("chat restarted") { s in readyPID("chat", s) != nil && readyPID("chat", s) != readyPID("chat", first) }
        #expect(agent.service("chat", in: s)?.restarts == 1)
        #expect(FileManager.default.fileExists(atPath: logFile(agent, "chat")))
        #expect(try await agent.terminate() == 0)
    }

    /// A log that cannot be written at all (a file stands where the log folder should be): the
    /// runtime starts anyway, and its status says why its output is dropped.
    @Test func aRuntimeStartsWhenItsLogCannotBeWritten() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        let blocked = agent.dir.appendingPathComponent("not-a-folder").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocked))
        try agent.start(["--log-dir", blocked])
        let s = try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        let message = agent.service("chat", in: s)?.message ?? ""
        #expect(message.contains("cannot be written") && message.contains("output is dropped"), "\(message)")
        #expect(try await agent.terminate() == 0)
    }

    /// The state folder (status file and child ledger) deleted while the agent runs: both come back
    /// at the next write.
    @Test func aDeletedStateFolderIsCreatedAgain() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        let state = agent.dir.appendingPathComponent("state")
        let status = state.appendingPathComponent("models.status.json").path
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        try agent.start(["--status-file", status])
        func read() -> AgentStatus? { try? StatusFile.read(status) }
        let clock = ContinuousClock()
        var end = clock.now + AgentHarness.deadline
        while read().flatMap({ readyPID("chat", $0) }) == nil, clock.now < end { try await Task.sleep(for: .milliseconds(100)) }
        try FileManager.default.removeItem(at: state)
        try agent.write(configYAML(svc("chat"), svc("extra")))
        end = clock.now + AgentHarness.deadline
        while read().flatMap({ readyPID("extra", $0) }) == nil, clock.now < end { try await Task.sleep(for: .milliseconds(100)) }
        #expect(read().flatMap { readyPID("extra", $0) } != nil, "the status file is back and current")
        #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent("models.children.json").path), "the ledger is back")
        #expect(try await agent.terminate() == 0)
    }

    /// A status write that fails (here at a file-size limit, as on a full disk) leaves no temporary
    /// file, and once writing works again the file catches up without any further change.
    @Test func aFailedStatusWriteLeavesNoTemporaryFileAndTheNextWriteCatchesUp() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat"), svc("coder", model: "tiny-mlx", "runtime: mlx-server")))
        // 4 blocks of 512 bytes: the first status (no services yet) fits, one with two services does not.
        try agent.start(["--resync-interval", "1h"], shell: "ulimit -S -f 4")
        let pid = try #require(agent.process?.processIdentifier)
        // Wait until both runtimes run (their argv shows in `ps`), while the status file stays behind.
        let clock = ContinuousClock()
        let end = clock.now + AgentHarness.deadline
        while (try runningFakeRuntimes(in: agent.dir.path)).count < 2, clock.now < end { try await Task.sleep(for: .milliseconds(100)) }
        try await Task.sleep(for: .seconds(1))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: agent.dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(
            agent.status().map { $0.services.count < 2 || !$0.services.allSatisfy { $0.phase == .Ready } } ?? true,
            "the limit really held the status file back")
        // Writing works again: the file catches up on its own (no edit, no re-check for an hour).
        let prlimit = Process()
        prlimit.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        prlimit.arguments = ["--pid", "\(pid)", "--fsize=unlimited"]
        try prlimit.run()
        prlimit.waitUntilExit()
        #expect(prlimit.terminationStatus == 0)
        try await agent.waitFor("both Ready in the status file") { s in s.services.count == 2 && s.services.allSatisfy { $0.phase == .Ready } }
        #expect(try await agent.terminate() == 0)
    }

    // MARK: 5. Why a runtime failed is only in its log

    /// The field report: a runtime that exits before it is Ready (a bad flag) showed only "exited with
    /// code 1"; the status message now carries the line of its output that says why.
    @Test func theTellingLineOfTheOutputIsInTheStatusMessage() async throws {
        let longError = "error: " + String(repeating: "x", count: 5000)
        let agent = try AgentHarness(
            config: configYAML(
                // A bad flag: the error line, then usage lines after it.
                svc(
                    "badflag", "restartPolicy: Never",
                    #"extraArgs: ["--fake-say", "error: invalid argument: --bogus", "--fake-say", "usage: llama-server [options]", "--fake-say", "to show complete usage, run with -h", "--fake-exit-now", "1"]"#
                ),
                // A model that fails to load (Python): the traceback's last line.
                svc(
                    "badmodel", model: "tiny-mlx", "runtime: mlx-server", "restartPolicy: Never",
                    #"extraArgs: ["--fake-say", "Traceback (most recent call last):", "--fake-say", "  File server.py, line 1, in <module>", "--fake-say", "ValueError: Model type foo not supported.", "--fake-exit-now", "1"]"#
                ),
                // Nothing that looks like an error: the last line.
                svc("quiet", "restartPolicy: Never", #"extraArgs: ["--fake-say", "loading model", "--fake-say", "bye", "--fake-exit-now", "3"]"#),
                // A very long line is cut.
                svc("long", "restartPolicy: Never", "extraArgs: [\"--fake-say\", \"\(longError)\", \"--fake-exit-now\", \"1\"]")))
        try agent.start()
        let s = try await agent.waitFor("all four Failed") { $0.services.count == 4 && $0.services.allSatisfy { $0.phase == .Failed } }
        func message(_ name: String) -> String { agent.service(name, in: s)?.message ?? "" }
        #expect(message("badflag").contains("exited with code 1; its output: error: invalid argument: --bogus"), "\(message("badflag"))")
        #expect(message("badmodel").contains("its output: ValueError: Model type foo not supported."), "\(message("badmodel"))")
        #expect(message("quiet").contains("exited with code 3; its output: bye"), "\(message("quiet"))")
        #expect(message("long").contains("its output: error: xxx") && message("long").count < 600, "\(message("long").count)")
        #expect(try await agent.terminate() == 0)
    }

    // MARK: 2. The inherited environment changes how the agent talks to its own children

    /// A proxy that accepts connections and never answers (a dead corporate proxy).
    static func deadProxy() throws -> LoopbackListener { try LoopbackListener(backlog: 1) }

    /// The field report: with `http_proxy`/`ALL_PROXY` exported in lowercase, every probe to
    /// 127.0.0.1 went to the (dead) proxy; every entry timed out and crash-looped. Both runtimes'
    /// probes (GET /health, POST /v1/completions) must go straight to them; the runtimes still get the
    /// variables, for their own traffic to the outside.
    @Test(arguments: [
        ["http_proxy", "https_proxy", "all_proxy"],
        ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"],
    ])
    func probesNeverGoThroughAProxy(names: [String]) async throws {
        let proxy = try Self.deadProxy()
        defer { proxy.close() }
        let url = "http://127.0.0.1:\(proxy.port)"
        var environment = Dictionary(uniqueKeysWithValues: names.map { ($0, url) })
        environment["no_proxy"] = ""
        environment["NO_PROXY"] = ""
        let agent = try AgentHarness(config: configYAML(svc("chat"), svc("coder", model: "tiny-mlx", "runtime: mlx-server")))
        try agent.start(environment: environment)
        let s = try await agent.waitFor("both Ready through no proxy") { $0.services.count == 2 && $0.services.allSatisfy { $0.phase == .Ready } }
        #expect(s.services.allSatisfy { $0.restarts == 0 })
        let (data, _) = try await URLSession(configuration: .ephemeral).data(from: URL(string: try #require(agent.service("chat", in: s)?.endpoint) + "/argv")!)
        let env = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])["env"] as? [String: String]
        for name in names { #expect(env?[name] == url, "the runtime keeps \(name) for its own downloads") }
        #expect(try await agent.terminate() == 0)
    }

    /// The same kind: `LLAMA_ARG_API_PREFIX` in the agent's environment moved llama-server's
    /// `/health` (llama-server reads it as `--api-prefix`); the entry never became Ready. It is not
    /// passed on unless `spec.env` sets it.
    @Test func anInheritedLlamaArgThatMovesHealthIsNotPassedOn() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start(environment: ["LLAMA_ARG_API_PREFIX": "/api", "LLAMA_ARG_THREADS": "2"])
        let s = try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        let (data, _) = try await URLSession(configuration: .ephemeral).data(from: URL(string: try #require(agent.service("chat", in: s)?.endpoint) + "/argv")!)
        let env = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])["env"] as? [String: String]
        #expect(env?["LLAMA_ARG_API_PREFIX"] == nil)
        #expect(env?["LLAMA_ARG_THREADS"] == "2", "other variables are passed on")
        #expect(try await agent.terminate() == 0)
    }

    // MARK: 4. A second Ctrl-C is ignored

    /// The field report: during a long grace period a second SIGINT did nothing, and nothing said what
    /// the agent waited for. Now the first signal logs the entries and the deadline; a second one (either
    /// signal, in either order) kills every runtime's group at once and exits with 128 + its number.
    @Test(arguments: [(SIGINT, SIGINT), (SIGTERM, SIGINT), (SIGINT, SIGTERM)])
    func aSecondSignalKillsEveryRuntimeAtOnce(first: Int32, second: Int32) async throws {
        let helper = "helper.pid"
        let agent = try AgentHarness(config: "")
        let helperPath = agent.dir.appendingPathComponent(helper).path
        try agent.write(
            configYAML(
                svc("chat", "terminationGracePeriodSeconds: 600", "extraArgs: [\"--fake-ignore-sigterm\", \"--fake-grandchild\", \"\(helperPath)\"]"),
                svc("coder", model: "tiny-mlx", "runtime: mlx-server", "terminationGracePeriodSeconds: 600", "extraArgs: [\"--fake-ignore-sigterm\"]")))
        try agent.start()
        let s = try await agent.waitFor("both Ready") { $0.services.count == 2 && $0.services.allSatisfy { $0.phase == .Ready } }
        let pids = s.services.compactMap(\.pid) + s.services.compactMap(\.processGroup) + [try await pidFromFile(helperPath)]
        let process = try #require(agent.process)

        kill(process.processIdentifier, first)
        // The first signal says what the agent stops and until when.
        let clock = ContinuousClock()
        var end = clock.now + AgentHarness.deadline
        func log() -> String { (try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? "" }
        while !log().contains("a second SIGINT or SIGTERM kills them at once"), clock.now < end { try await Task.sleep(for: .milliseconds(50)) }
        let line = log().split(separator: "\n").first { $0.contains("a second SIGINT or SIGTERM kills them at once") }.map(String.init) ?? ""
        #expect(line.contains("chat (pid") && line.contains("coder (pid") && line.contains("deadline=") && line.contains("grace=600 s"), "\(line)")
        #expect(process.isRunning, "the runtimes ignore SIGTERM: the agent waits for their grace period")

        kill(process.processIdentifier, second)
        end = clock.now + AgentHarness.deadline
        while process.isRunning, clock.now < end { try await Task.sleep(for: .milliseconds(50)) }
        try #require(!process.isRunning, "a second signal ends the agent at once, not after 600 s")
        #expect(process.terminationStatus == 128 + second)
        for pid in pids { try await agent.waitUntilGone(pid) }
        let final = try #require(agent.status())
        #expect(final.services.allSatisfy { $0.phase == .Stopped && $0.reason == .AgentKilled })
    }

    // MARK: 7. A runtime whose `--version` hangs

    /// The field report: a `--llama-server-bin` whose `--version` never answered held the agent for the
    /// read's 10 s timeout; a SIGTERM sent meanwhile took effect only then, and the agent still started
    /// every runtime (and then stopped them) after its shutdown had begun. Now the read is cancelled at
    /// once (its process group killed), nothing is started, and the agent exits 0.
    @Test func aSIGTERMDuringASlowVersionReadStartsNothing() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        let versionPid = agent.dir.appendingPathComponent("version.pid").path
        let started = agent.dir.appendingPathComponent("started").path
        let script = agent.dir.appendingPathComponent("slow-version-llama-server").path
        try Data(
            """
            #!/bin/sh
            if [ "$1" = "--version" ]; then printf %s $$ > '\(versionPid)'; exec sleep 600; fi
            echo $$ >> '\(started)'
            exec '\(AgentHarness.fakeRuntime)' "$@"

            """.utf8
        ).write(to: URL(fileURLWithPath: script))
        chmod(script, 0o755)
        try agent.start(["--llama-server-bin", script])
        let pid = try await pidFromFile(versionPid)
        try #require(AgentHarness.isAlive(pid), "the --version process runs")
        #expect(try await agent.terminate() == 0)
        #expect(!AgentHarness.isAlive(pid), "the --version process is killed when the agent stops, not left to its timeout")
        #expect(!FileManager.default.fileExists(atPath: started), "nothing is started once the shutdown has begun")
        let log = (try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? ""
        #expect(!log.contains(" starting"), "\(log.suffix(3000))")
    }

    // MARK: 8. LLMKube's default endpoint.port is the gateway's port

    /// The field report: an exported manifest has `endpoint.port: 8080` (LLMKube's default), where the
    /// agent's gateway listens by default; the entry crash-looped with PortInUse. Now it takes a free
    /// port, with a warning, and the gateway keeps its port.
    @Test func anEndpointPortOnTheGatewaysPortGivesWay() async throws {
        let gatewayPort = try LoopbackListener.freePort()
        let agent = try AgentHarness(config: configYAML(svc("chat", "endpoint: {port: \(gatewayPort)}")))
        try agent.start(["--gateway-listen", "127.0.0.1:\(gatewayPort)"])
        let s = try await agent.waitFor("chat Ready on another port") { s in
            readyPID("chat", s) != nil && agent.service("chat", in: s)?.port != gatewayPort
        }
        #expect(s.config.warnings.contains { $0.contains("PortConflict") && $0.contains("the agent's gateway") }, "\(s.config.warnings)")
        #expect(s.gatewayEndpoint == "http://127.0.0.1:\(gatewayPort)")
        #expect(try await agent.terminate() == 0)
    }
}
