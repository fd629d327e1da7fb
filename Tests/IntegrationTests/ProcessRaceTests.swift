import Foundation
import Supervisor
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Decisions to signal or reap a process made from a snapshot of process state that may be stale by the
/// time they act (issue 15): on a machine with thousands of processes a `/proc` scan is slow, and what
/// it saw may have changed before the agent acts on it.
@Suite(.serialized) struct ProcessRaceTests {
    /// About as many processes as an ordinary desktop with a browser open.
    static let busyProcesses = 2_000

    @Test func editsOnABusyMachineStartEachRuntimeExactlyOnce() async throws {
        try await editTenTimesOnABusyMachine(extraAgentFlags: [])
    }

    @Test func editsWhileTheOrphanSweepRunsInATightLoop() async throws {
        try await editTenTimesOnABusyMachine(extraAgentFlags: ["--orphan-sweep-interval", "1ms"])
    }

    /// Ten edits of one entry with about 2,000 idle processes on the machine: each edit starts the
    /// runtime exactly once, and nothing is killed, fails to spawn or backs off.
    func editTenTimesOnABusyMachine(extraAgentFlags: [String]) async throws {
        let busy = try IdleProcesses(count: Self.busyProcesses)
        defer { busy.stop() }
        let agent = try AgentHarness(config: "")
        let starts = agent.dir.appendingPathComponent("starts.log").path
        func config(_ round: Int) -> String {
            configYAML(svc("chat", "contextSize: \(1000 + round)", "extraArgs: [\"--fake-start-log\", \"\(starts)\"]"))
        }
        try agent.write(config(0))
        try agent.start(extraAgentFlags)
        var previous = try #require(
            try await agent.waitFor("chat Ready") { s in
                s.services.first?.phase == .Ready
            }.services.first?.pid)
        for round in 1...10 {
            try agent.renameSave(config(round))
            let s = try await agent.waitFor("chat Ready after edit \(round)") { s in
                guard let chat = s.services.first else { return false }
                return s.config.generation == round + 1 && chat.phase == .Ready && chat.pid != previous
                    && chat.spec?["spec.contextSize"] == "\(1000 + round)"
            }
            let chat = try #require(s.services.first)
            #expect(chat.restarts == 0, "edit \(round): the new runtime was restarted (\(chat.reason?.rawValue ?? "") \(chat.message ?? ""))")
            previous = try #require(chat.pid)
        }
        // Every busy process is still there: no stranger was signalled either.
        #expect(busy.allAlive(), "an idle process of the test was killed")
        let startLines = try String(contentsOfFile: starts, encoding: .utf8).split(separator: "\n")
        #expect(startLines.count == 11, "runtime starts: \(startLines.count) for 1 start and 10 edits")
        let log = try String(contentsOfFile: agent.stderrPath, encoding: .utf8)
        for bad in ["backing off", "spawn failed", "Killed", "SpawnFailed", "No child processes"] {
            #expect(
                !log.contains(bad), "agent log has \"\(bad)\":\n\(log.split(separator: "\n").filter { $0.contains(bad) }.prefix(5).joined(separator: "\n"))")
        }
        #expect(try await agent.terminate() == 0)
    }
}

/// The environment the agent inherits must not change how it talks to its own runtimes.
@Suite struct InheritedEnvironmentTests {
    @Test func probesNeverGoThroughAProxyTheAgentInherited() async throws {
        let dead = try LoopbackListener(backlog: 1)  // accepts nothing: a proxy that is down
        defer { dead.close() }
        let proxy = "http://127.0.0.1:\(dead.port)"
        let agent = try AgentHarness(config: AgentIntegrationTests.both)
        try agent.start(environment: [
            "http_proxy": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy,
            "ALL_PROXY": proxy, "all_proxy": proxy, "NO_PROXY": "", "no_proxy": "",
        ])
        let s = try await agent.waitFor("both Ready with a dead proxy in the environment") { s in
            s.services.count == 2 && s.services.allSatisfy { $0.phase == .Ready }
        }
        #expect(s.services.allSatisfy { $0.restarts == 0 })
        #expect(try await agent.terminate() == 0)
    }
}

/// Many idle `sleep` processes, children of the test, so that `/proc` is as large as on a busy desktop.
/// Started with `CleanSpawn` (no copy of another test's pipes or files). Stopped (SIGKILLed and reaped)
/// by `stop()`.
final class IdleProcesses {
    private(set) var pids: [pid_t] = []

    init(count: Int) throws {
        for _ in 0..<count {
            do {
                pids.append(try CleanSpawn.spawn(["/bin/sleep", "3600"]))
            } catch {
                stop()
                throw error
            }
        }
    }

    /// True when every process is still alive (not even a zombie).
    func allAlive() -> Bool { pids.allSatisfy { AgentHarness.isAlive($0) } }

    func stop() {
        for pid in pids { kill(pid, SIGKILL) }
        for pid in pids {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        pids = []
    }
}
