import Foundation
import Supervisor
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `metal-agent` binary as a child process against a config in a fresh temporary folder,
/// with the fake runtime (`Fixtures/fake-runtime`) standing in for llama-server and mlx-server.
/// Waits on the status file with generous deadlines; never sleeps a fixed time.
final class AgentHarness {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let fakeRuntime = fixtures.appendingPathComponent("fake-runtime").path

    /// The agent binary: `$METAL_AGENT_BIN`, else `metal-agent` next to the test bundle.
    static var agentBinary: String {
        if let path = ProcessInfo.processInfo.environment["METAL_AGENT_BIN"] { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.path.hasSuffix(".xctest/Contents/MacOS") {
            dir = dir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        }
        return dir.appendingPathComponent("metal-agent").path
    }

    let dir: URL
    let configPath: String
    let statusPath: String
    let stderrPath: String
    private(set) var process: Process?
    /// Replaces `--config <configPath>` when set (several files, a folder).
    var configArguments: [String]?

    /// Deadline for any one condition: long, because CI is a busy 2-core machine.
    static let deadline: Duration = .seconds(90)

    init(config: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("metal-agent-it-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("models/tiny-mlx"), withIntermediateDirectories: true)
        try Data("GGUF fake".utf8).write(to: dir.appendingPathComponent("models/tiny.gguf"))
        try Data("{}".utf8).write(to: dir.appendingPathComponent("models/tiny-mlx/config.json"))
        configPath = dir.appendingPathComponent("models.yaml").path
        statusPath = dir.appendingPathComponent("models.status.json").path
        stderrPath = dir.appendingPathComponent("agent.stderr").path
        try write(config)
    }

    deinit {
        // A test that failed half-way still leaves nothing running: SIGTERM (the agent stops its runtimes),
        // then SIGKILL, then any runtime of this test's folder that is still alive.
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let end = Date().addingTimeInterval(30)
            while process.isRunning && Date() < end { usleep(50_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        for pid in (try? runningFakeRuntimes(in: dir.path)) ?? [] { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: dir)
    }

    /// Starts the agent with both fake runtimes and a fast backoff, and without the operator endpoint
    /// (`--listen none`, unless `extra` names a `--listen`: tests run many agents at once); `extra` flags go last.
    /// - Parameters:
    ///   - stderr: where the agent's stderr goes (default: `stderrPath`).
    ///   - shell: a `/bin/sh` command run first, which then execs the agent (`ulimit -f 16`, say).
    ///   - environment: variables added to (or, with nil, removed from) the test's own environment.
    func start(_ extra: [String] = [], stderr: FileHandle? = nil, shell: String? = nil, environment: [String: String?] = [:]) throws {
        let process = Process()
        let arguments =
            (configArguments ?? ["--config", configPath]) + [
                "--llama-server-bin", Self.fakeRuntime, "--mlx-server-bin", Self.fakeRuntime,
                "--backoff-initial", "200ms", "--backoff-max", "1s", "--log-level", "debug",
            ] + (extra.contains("--listen") ? [] : ["--listen", "none"])
            + (extra.contains("--gateway-listen") ? [] : ["--gateway-listen", "none"]) + extra
        if let shell {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", shell + " && exec \"$0\" \"$@\"", Self.agentBinary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Self.agentBinary)
            process.arguments = arguments
        }
        if !environment.isEmpty {
            var env = ProcessInfo.processInfo.environment
            for (name, value) in environment { env[name] = value }
            process.environment = env
        }
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = stderr ?? FileHandle(forWritingAtPath: stderrPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// Starts the agent with exactly `arguments` (no flags added), stderr to `stderrPath`.
    func start(exactly arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.agentBinary)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// Replaces the config in place (open, truncate, write).
    func write(_ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: configPath))
    }

    /// Replaces the config the way editors do: write a temporary file, rename it over the config.
    func renameSave(_ text: String) throws {
        let tmp = dir.appendingPathComponent(".models.yaml.swp").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
        guard rename(tmp, configPath) == 0 else { throw POSIXError(.EIO) }
    }

    /// The current status document, or nil if none is readable yet.
    func status() -> AgentStatus? { try? StatusFile.read(statusPath) }

    /// Polls the status file until `condition` holds; fails the test with the last status and the agent's log otherwise.
    @discardableResult
    func waitFor(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ condition: (AgentStatus) -> Bool) async throws -> AgentStatus {
        let clock = ContinuousClock()
        let end = clock.now + Self.deadline
        var last: AgentStatus?
        while clock.now < end {
            if let s = status() {
                last = s
                if condition(s) { return s }
            }
            if let process, !process.isRunning {
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = self.log
        Issue.record(
            "timed out waiting for: \(what)\nlast status: \(String(describing: last?.services.map { "\($0.name) \($0.phase) pid=\(String(describing: $0.pid)) \($0.reason?.rawValue ?? "") \($0.message ?? "")" }))\nconfig: \(String(describing: last?.config))\nagent log tail:\n\(log.suffix(6000))",
            sourceLocation: sourceLocation)
        throw HarnessError.timedOut(what)
    }

    /// What the agent wrote to its stderr (its log) so far.
    var log: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Starts the fake runtime from the test, not through the agent (a stranger on an entry's port, or
    /// a container engine's daemon), serving `port` with `flags` added, in a process group of its own.
    /// End it with `AgentHarness.endOutsider(_:)`.
    func startOutsider(port: Int, _ flags: [String] = []) throws -> pid_t {
        let model = dir.appendingPathComponent("models/tiny.gguf").path
        return try CleanSpawn.spawn([Self.fakeRuntime, "--model", model, "--port", "\(port)"] + flags, newGroup: true)
    }

    /// SIGKILLs the process group of an outsider (`startOutsider`) and reaps it.
    static func endOutsider(_ pid: pid_t) {
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// The gateway's port, from `gatewayEndpoint` in the status file (start it with
    /// `--gateway-listen 127.0.0.1:0`).
    func gatewayPort(sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let clock = ContinuousClock()
        let end = clock.now + Self.deadline
        while clock.now < end {
            // `gatewayEndpoint` in the status file, as a client would find the port the kernel chose.
            if let endpoint = status()?.gatewayEndpoint, let port = URL(string: endpoint)?.port {
                return port
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the status file never showed gatewayEndpoint", sourceLocation: sourceLocation)
        throw HarnessError.timedOut("gateway listening")
    }

    /// Sends SIGTERM and waits for the agent to exit; returns its exit status.
    @discardableResult
    func terminate() async throws -> Int32 {
        guard let process else { return -1 }
        kill(process.processIdentifier, SIGTERM)
        let clock = ContinuousClock()
        let end = clock.now + Self.deadline
        while process.isRunning && clock.now < end { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "agent did not exit after SIGTERM")
        return process.terminationStatus
    }

    func service(_ name: String, in status: AgentStatus) -> ServiceStatus? { status.services.first { $0.name == name } }

    /// True while `pid` is a live process (not a zombie).
    static func isAlive(_ pid: Int32) -> Bool { ProcFS.isAlive(pid) }

    /// Waits until `pid` is gone; records an issue if it never goes.
    func waitUntilGone(_ pid: Int32, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let clock = ContinuousClock()
        let end = clock.now + Self.deadline
        while Self.isAlive(pid) && clock.now < end { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!Self.isAlive(pid), "process \(pid) is still alive", sourceLocation: sourceLocation)
    }
}

enum HarnessError: Error { case timedOut(String) }

/// A models.yaml with the tiny GGUF and MLX models and the given InferenceService documents.
func configYAML(_ services: String...) -> String {
    let header = "apiVersion: inference.llmkube.dev/v1alpha1"
    var docs = [
        "\(header)\nkind: Model\nmetadata:\n  name: tiny-gguf\nspec:\n  source: models/tiny.gguf\n  format: gguf",
        "\(header)\nkind: Model\nmetadata:\n  name: tiny-mlx\nspec:\n  source: models/tiny-mlx\n  format: mlx",
    ]
    docs += services.map { "\(header)\nkind: InferenceService\n\($0)" }
    return docs.joined(separator: "\n---\n") + "\n"
}

/// An InferenceService document body: `metadata.name` plus spec lines.
func svc(_ name: String, model: String = "tiny-gguf", _ specLines: String...) -> String {
    (["metadata:\n  name: \(name)", "spec:", "  modelRef: \(model)"] + specLines.map { "  " + $0 }).joined(separator: "\n")
}
