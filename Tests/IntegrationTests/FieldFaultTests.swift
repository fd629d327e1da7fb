import Foundation
import Supervisor
import Testing
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
}
