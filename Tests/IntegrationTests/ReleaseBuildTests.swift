import Foundation
import Supervisor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The release binary runs on a node without Swift: `scripts/build-release` builds it with the Swift
/// runtime linked statically, and it runs in a clean environment (`env -i`, an empty `LD_LIBRARY_PATH`).
///
/// Opt-in (`METAL_AGENT_RELEASE_TEST=1`): the static release build of every dependency takes far longer
/// than the rest of the suite on a 2-core machine. `METAL_AGENT_RELEASE_BIN` names an already built
/// binary instead (its `metal-agent-guard` beside it).
@Suite struct ReleaseBuildTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var enabled: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["METAL_AGENT_RELEASE_TEST"] == "1" || env["METAL_AGENT_RELEASE_BIN"] != nil
    }

    /// Runs `argv` under `env -i LD_LIBRARY_PATH=` plus `variables`; returns exit status and output.
    func runClean(_ argv: [String], variables: [String] = [], in dir: URL) async throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["-i", "LD_LIBRARY_PATH="] + variables + argv
        let out = dir.appendingPathComponent("clean-\(UUID().uuidString.prefix(6)).out")
        let err = dir.appendingPathComponent("clean-\(UUID().uuidString.prefix(6)).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out.path)
        process.standardError = FileHandle(forWritingAtPath: err.path)
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    @Test func versionPrintsTheVersionAndTheCommit() async throws {
        let result = try await runAgentCommandAsync(["--version"], in: FileManager.default.temporaryDirectory)
        #expect(result.status == 0)
        // A debug build is not built by scripts/build-release: its commit is unknown.
        let line = result.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.wholeMatch(of: /\d+\.\d+\.\d+ \(commit [0-9a-f]{7,40}(-dirty)?\)/) != nil || line.hasSuffix("(commit unknown)"), "\(line)")
    }

    @Test(.enabled(if: ReleaseBuildTests.enabled, "set METAL_AGENT_RELEASE_TEST=1 (builds the static release binary) or METAL_AGENT_RELEASE_BIN"))
    func theStaticBinaryRunsInACleanEnvironment() async throws {
        let binary: String
        if let given = ProcessInfo.processInfo.environment["METAL_AGENT_RELEASE_BIN"] {
            binary = given
        } else {
            let build = Process()
            build.executableURL = Self.root.appendingPathComponent("scripts/build-release")
            build.currentDirectoryURL = Self.root
            let out = Pipe()
            build.standardOutput = out
            try build.run()
            let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            build.waitUntilExit()
            #expect(build.terminationStatus == 0, "scripts/build-release failed (ldd found a Swift library, or the build failed)")
            let line = try #require(printed.split(separator: "\n").first { $0.contains("/metal-agent sha256 ") })
            binary = String(line.split(separator: " ")[0])
            let sha = String(line.split(separator: " ")[2])
            #expect(sha.count == 64)
        }
        let ldd = Process()
        ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        ldd.arguments = [binary]
        let lddOut = Pipe()
        ldd.standardOutput = lddOut
        try ldd.run()
        let libraries = String(decoding: lddOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ldd.waitUntilExit()
        #expect(!libraries.contains("libswift") && !libraries.contains("libFoundation") && !libraries.contains("libdispatch"), "\(libraries)")

        let agent = try AgentHarness(config: configYAML(svc("chat")))
        let version = try await runClean([binary, "--version"], in: agent.dir)
        #expect(version.status == 0, "\(version.err)")
        #expect(version.out.hasPrefix("0.") && version.out.contains("(commit "), "\(version.out)")
        #expect(!version.out.contains("commit unknown"), "a release build names its commit: \(version.out)")

        // The agent itself, in the clean environment: the fake runtime Ready, status 0.
        let status = agent.dir.appendingPathComponent("models.status.json").path
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        run.arguments = [
            "-i", "LD_LIBRARY_PATH=", "PATH=/usr/bin:/bin", binary, "run", "--config", agent.configPath,
            "--llama-server-bin", AgentHarness.fakeRuntime, "--mlx-server-bin", AgentHarness.fakeRuntime, "--listen", "none",
        ]
        run.standardError = FileHandle(forWritingAtPath: agent.stderrPath)
        try run.run()
        defer {
            if run.isRunning {
                kill(run.processIdentifier, SIGTERM)
                run.waitUntilExit()
            }
        }
        try await agent.waitFor("chat Ready under the static binary") { $0.services.first?.phase == .Ready }
        let shown = try await runClean([binary, "status", "--status-file", status], in: agent.dir)
        #expect(shown.status == 0, "\(shown.out)\(shown.err)")
        kill(run.processIdentifier, SIGTERM)
        while run.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(run.terminationStatus == 0)
    }
}
