import Foundation
import Supervisor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `metal-agent logs` against a real agent: --tail, -f across rotations and a restart, --previous.
@Suite struct LogsCommandTests {
    func readyPID(_ name: String, _ s: AgentStatus) -> Int32? {
        s.services.first { $0.name == name && $0.phase == .Ready }?.pid
    }

    @Test func followCrossesRotationsAndARestartAndPreviousShowsTheRunBefore() async throws {
        // 100 lines of 100 bytes at each start into files of 2,000 bytes: every start rotates several times.
        let agent = try AgentHarness(config: configYAML(svc("chat", "extraArgs: [\"--fake-spew\", \"100\"]")))
        try agent.start(["--log-max-bytes", "2000", "--log-max-files", "50"])
        let first = try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        let firstPID = try #require(readyPID("chat", first))

        let tail = try await runAgentCommandAsync(["logs", "chat", "--config", agent.configPath, "--tail", "3"], in: agent.dir)
        #expect(tail.status == 0, "\(tail.err)")
        let tailLines = tail.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(tailLines.count == 3, "\(tail.out)")
        #expect(tailLines.last?.contains("pid \(firstPID) serving") == true, "\(tail.out)")
        let all = try await runAgentCommandAsync(["logs", "chat", "--config", agent.configPath], in: agent.dir)
        #expect(all.out.split(separator: "\n").filter { $0.hasPrefix("spew ") }.count == 100, "every line of the run, across its rotated files")
        let noPrevious = try await runAgentCommandAsync(["logs", "chat", "--config", agent.configPath, "--previous"], in: agent.dir)
        #expect(
            noPrevious.status == 1,
            "a previous run exists: \(noPrevious.out.suffix(2000))\nagent log:\n\(((try? String(contentsOfFile: agent.stderrPath, encoding: .utf8)) ?? "").suffix(6000))"
        )

        let follow = try BackgroundCommand(["logs", "chat", "--config", agent.configPath, "-f", "--tail", "1"], in: agent.dir)
        try await follow.waitForOutput("the last line of the first run") { $0.contains("pid \(firstPID) serving") }
        kill(firstPID, SIGKILL)
        let second = try await agent.waitFor("chat Ready again") { s in readyPID("chat", s).map { $0 != firstPID } ?? false }
        let secondPID = try #require(readyPID("chat", second))
        try await follow.waitForOutput("the second run's last line") { $0.contains("pid \(secondPID) serving") }
        let spew = follow.out.split(separator: "\n").filter { $0.hasPrefix("spew ") }
        // The second run wrote 100 lines through 5 rotations; -f printed each once (stdout and stderr
        // lines may interleave in any order).
        #expect(
            spew.map { String($0.prefix(13)) }.sorted() == (0..<100).map { String(format: "spew %08d", $0) },
            "\(spew.count) lines: \(spew.prefix(3)) ... \(spew.suffix(3))")
        follow.interrupt()
        _ = try await follow.exitStatus()

        // --previous: the first run's output, kept when the second began.
        let previous = try await runAgentCommandAsync(["logs", "chat", "--config", agent.configPath, "--previous"], in: agent.dir)
        #expect(previous.status == 0, "\(previous.err)")
        #expect(previous.out.contains("pid \(firstPID) serving") && !previous.out.contains("pid \(secondPID) serving"))
        #expect(previous.out.split(separator: "\n").filter { $0.hasPrefix("spew ") }.count == 100)
        let current = try await runAgentCommandAsync(["logs", "chat", "--config", agent.configPath], in: agent.dir)
        #expect(current.out.contains("pid \(secondPID) serving") && !current.out.contains("pid \(firstPID) serving"))
        #expect(try await agent.terminate() == 0)
    }

    @Test func anUnknownEntryExitsOne() async throws {
        let agent = try AgentHarness(config: configYAML(svc("chat")))
        try agent.start()
        try await agent.waitFor("chat Ready") { readyPID("chat", $0) != nil }
        let result = try await runAgentCommandAsync(["logs", "chta", "--config", agent.configPath], in: agent.dir)
        #expect(result.status == 1)
        #expect(result.err.contains("no such entry") && result.err.contains("chat"), "\(result.err)")
        #expect(try await agent.terminate() == 0)
    }
}
