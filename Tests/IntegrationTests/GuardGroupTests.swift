import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The runtime guard as the agent runs it: leader of a new process group, stdin a socket (the lifeline).
/// Both guards (Linux, and the portable one of `METAL_AGENT_PORTABLE=1`) must take what the runtime
/// leaves in that group, and end with the runtime's own status.
@Suite struct GuardGroupTests {
    /// A guard started like the agent starts one: `metal-agent guard --grace-seconds <grace> -- /bin/sh -c
    /// <script>` in a process group of its own, the lifeline on stdin. Reads the handshake.
    struct StartedGuard {
        let pid: pid_t
        let runtime: pid_t
        let agentEnd: Int32

        init(grace: String, script: String) throws {
            var pair: [Int32] = [-1, -1]
            // Close-on-exec, so that no process another test starts meanwhile holds the lifeline open.
            #if canImport(Glibc)
            try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
            #else
            try #require(socketpair(AF_UNIX, SOCK_STREAM, 0, &pair) == 0)
            pair.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
            #endif
            // As the agent spawns it: own group, signals at default, the lifeline on stdin.
            let spawned = Result {
                try CleanSpawn.spawn(
                    [AgentHarness.agentBinary, "guard", "--grace-seconds", grace, "--", "/bin/sh", "-c", script], newGroup: true, stdin: pair[1])
            }
            close(pair[1])
            self.pid = try spawned.get()
            agentEnd = pair[0]
            // The handshake: "pid <runtime>\n", read byte by byte up to the newline.
            var line = ""
            var byte: UInt8 = 0
            while read(agentEnd, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(Character(UnicodeScalar(byte))) }
            let parsed = line.hasPrefix("pid ") ? pid_t(line.dropFirst(4)) : nil
            runtime = try #require(parsed, "handshake: \(line)")
        }

        /// Waits (up to the harness deadline) for the guard to end; returns its wait status.
        func waitForExit() async throws -> Int32 {
            let clock = ContinuousClock()
            let end = clock.now + AgentHarness.deadline
            var status: Int32 = 0
            while clock.now < end {
                if waitpid(pid, &status, WNOHANG) == pid { return status }
                try await Task.sleep(for: .milliseconds(20))
            }
            kill(pid, SIGKILL)
            throw HarnessError.timedOut("guard \(pid)")
        }
    }

    /// Waits (up to the harness deadline) until `pid` is gone; records an issue if it never goes.
    static func waitUntilGone(_ pid: pid_t, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let clock = ContinuousClock()
        let end = clock.now + AgentHarness.deadline
        while AgentHarness.isAlive(pid) && clock.now < end { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!AgentHarness.isAlive(pid), "process \(pid) is still alive", sourceLocation: sourceLocation)
    }

    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("guard-group-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    @Test func aRuntimesHelperLeftInTheGroupIsKilledAndTheGuardExitsWithTheRuntimesCode() async throws {
        let helper = dir.appendingPathComponent("helper.pid").path
        // The helper ignores SIGTERM and SIGHUP: only SIGKILL ends it.
        let started = try StartedGuard(grace: "30", script: "(trap '' TERM HUP; exec sleep 1000) & printf %s $! > '\(helper)'; exit 3")
        defer { close(started.agentEnd) }
        let status = try await started.waitForExit()
        #expect(status & 0x7f == 0 && (status >> 8) & 0xff == 3, "wait status \(status): exit code 3 expected")
        let helperPID = try await pidFromFile(helper)
        try await Self.waitUntilGone(helperPID)
    }

    @Test func aClosedLifelineStopsTheGroupAndAStubbornRuntimeIsKilledAfterItsGrace() async throws {
        let helper = dir.appendingPathComponent("helper.pid").path
        let started = try StartedGuard(
            grace: "0.5", script: "trap '' TERM; (trap '' TERM; exec sleep 1000) & printf %s $! > '\(helper)'; while :; do sleep 0.1; done")
        let helperPID = try await pidFromFile(helper)
        #expect(getpgid(started.runtime) == started.pid && getpgid(helperPID) == started.pid, "runtime and helper run in the guard's group")
        close(started.agentEnd)  // the agent is gone
        let status = try await started.waitForExit()
        #expect(status & 0x7f == SIGKILL, "wait status \(status): the guard ends as its runtime did, by SIGKILL")
        try await Self.waitUntilGone(started.runtime)
        try await Self.waitUntilGone(helperPID)
    }
}
