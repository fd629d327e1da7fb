import Foundation
import Logging
import TestSupport
import Testing

@testable import Supervisor

#if canImport(Glibc)
import Glibc
#endif

/// Every place that signals a process it learned of earlier must not reach a stranger that took the
/// pid since (issue 15). These tests make real pid reuse happen on purpose: a process is started,
/// recorded, killed and reaped, and a new process is given the same pid through
/// `/proc/sys/kernel/ns_last_pid` (root only; the tests are skipped elsewhere).
@Suite(.serialized, .enabled(if: PidReuse.available, "needs root to write /proc/sys/kernel/ns_last_pid (Linux)"))
struct PidReuseTests {
    @Test func aStaleIdentityNeverSignalsTheProcessThatReusedItsPid() throws {
        let (old, stranger) = try PidReuse.strangerReusingThePidOfAnExitedProcess()
        defer { stranger.stop() }
        #expect(old.pid == stranger.pid)
        #expect(!old.signal(SIGKILL), "the signal went to a stranger")
        #expect(stranger.isAlive)
        // The stranger's own identity reaches it.
        #expect(try #require(ProcessIdentity.current(pid: stranger.pid)).signal(SIGKILL))
        #expect(stranger.waitUntilExit() == SIGKILL)
    }

    @Test func aTreeWhoseRootPidWasReusedIsLeftAlone() throws {
        // The stranger has a child of its own: neither may be touched through the stale root.
        let (old, stranger) = try PidReuse.strangerReusingThePidOfAnExitedProcess(command: ["/bin/sh", "-c", "sleep 300 & wait"])
        defer { stranger.stop() }
        let deadline = Date().addingTimeInterval(30)
        while ProcessTree.descendants(of: stranger.pid).isEmpty && Date() < deadline { usleep(10_000) }
        let grandchild = try #require(ProcessTree.descendants(of: stranger.pid).first)
        #expect(ProcessTree.signal(treeOf: old, SIGKILL, includingRoot: true) == 0)
        #expect(stranger.isAlive && grandchild.identity.isStillRunning)
        kill(grandchild.pid, SIGKILL)
    }

    @Test func theLedgerNeverStopsAStrangerThatReusedARecordedPid() async throws {
        // The stranger leads its own process group, as a runtime guard does: a killpg by the old pid
        // would reach it too.
        let (old, stranger) = try PidReuse.strangerReusingThePidOfAnExitedProcess(ownGroup: true)
        defer { stranger.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ma-ledger-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("models.children.json").path
        for guarded in [true, false] {
            let entries = [ChildLedger.Entry(service: "chat", process: old, guarded: guarded)]
            try JSONEncoder().encode(entries).write(to: URL(fileURLWithPath: path))
            let ledger = ChildLedger(path: path, logger: Logger(label: "test"))
            let stopped = await ledger.stopLeftovers(grace: .seconds(1))
            #expect(stopped.isEmpty)
            #expect(stranger.isAlive, "guarded: \(guarded)")
        }
    }

    @Test func aReapedReportForAPidThatANewSpawnReusedForgetsNothing() async throws {
        // Bookkeeping only (a sweeper that is not enabled never sweeps): spawn 1 and spawn 2 both get
        // pid 4242, as after pid reuse; the late "reaped" of spawn 1 must not forget spawn 2's child.
        let sweeper = OrphanSweeper(enabled: false)
        var first: UInt64 = 0
        var second: UInt64 = 0
        _ = await sweeper.spawning(
            { serial in
                first = serial
                return pid_t(4242)
            }, pid: { $0 })
        _ = await sweeper.spawning(
            { serial in
                second = serial
                return pid_t(4242)
            }, pid: { $0 })
        #expect(first != second)
        sweeper.reaped(4242, serial: first)
        #expect(sweeper.knows(4242), "a stale reaped report forgot the new child")
        sweeper.reaped(4242, serial: second)
        #expect(!sweeper.knows(4242))
    }
}

/// Makes pid reuse happen on purpose (Linux, root): `/proc/sys/kernel/ns_last_pid` sets the pid the
/// next new process gets, less one.
enum PidReuse {
    static let control = "/proc/sys/kernel/ns_last_pid"
    static var available: Bool { geteuid() == 0 && access(control, W_OK) == 0 }

    /// A spawned process the test owns (and reaps).
    final class Spawned {
        let pid: pid_t
        private var reaped = false
        init(pid: pid_t) { self.pid = pid }
        var isAlive: Bool { ProcessTree.stat(pid).map { !$0.isZombie } ?? false }
        /// Reaps it; returns the signal that ended it (0 for an exit).
        func waitUntilExit() -> Int32 {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            reaped = true
            return status & 0x7f
        }
        func stop() {
            guard !reaped else { return }
            kill(pid, SIGKILL)
            _ = waitUntilExit()
        }
    }

    /// Starts `command` (first element a path) with `CleanSpawn`: no copy of another test's pipes or files.
    static func spawn(_ command: [String], ownGroup: Bool = false) throws -> Spawned {
        Spawned(pid: try CleanSpawn.spawn(command, newGroup: ownGroup))
    }

    /// Starts a process, records its identity, SIGKILLs and reaps it, then starts `command` with the
    /// same pid. Other processes on the machine may take the pid first; it tries again (up to 200
    /// times) until the pid is reused.
    /// - Returns: the exited process's identity, and the stranger now holding its pid.
    static func strangerReusingThePidOfAnExitedProcess(
        command: [String] = ["/bin/sleep", "300"], ownGroup: Bool = false
    ) throws -> (ProcessIdentity, Spawned) {
        for _ in 0..<200 {
            let first = try spawn(["/bin/sleep", "300"], ownGroup: ownGroup)
            let identity = try #require(ProcessIdentity.current(pid: first.pid))
            first.stop()
            // Start times count clock ticks (1/100 s): the stranger must start in a later tick than the
            // first, as any real reuse does (the pid space wraps in far more than one tick).
            waitForTick(after: identity.startTime)
            try "\(first.pid - 1)".write(toFile: control, atomically: false, encoding: .utf8)
            let second = try spawn(command, ownGroup: ownGroup)
            if second.pid == first.pid {
                #expect(ProcessIdentity.current(pid: second.pid) != identity, "same pid, another start time")
                return (identity, second)
            }
            second.stop()
        }
        throw POSIXError(.EAGAIN)
    }

    /// Returns once the boot-time clock, in clock ticks (the unit of `/proc/<pid>/stat`'s start time),
    /// is past `ticks`.
    static func waitForTick(after ticks: UInt64) {
        let perSecond = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        while true {
            var now = timespec()
            clock_gettime(CLOCK_BOOTTIME, &now)
            let current = UInt64(now.tv_sec) * perSecond + UInt64(now.tv_nsec) * perSecond / 1_000_000_000
            if current > ticks + 1 { return }
            usleep(1_000)
        }
    }
}
