import CProcessControl
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Stops helpers that a dead runtime guard left to the agent (Linux).
///
/// The agent is a child subreaper (`PR_SET_CHILD_SUBREAPER`), so when a guard dies without cleaning up
/// (SIGKILLed by hand, or after the agent's own last-resort SIGKILL), the helpers that had escaped its
/// process group are re-parented to the agent instead of to init. Every child of the agent that is not
/// a process it spawned on purpose is such a helper: `sweep()` SIGKILLs it (and what it started) and
/// reaps it.
///
/// The rules that keep the sweep from ever touching the agent's own children (issue 15: on a machine
/// with thousands of processes a `/proc` scan takes long enough for a spawn to start and finish inside
/// it, and a sweep that acted on its stale snapshot SIGKILLed the new guard and stole its exit status):
/// - every spawn of the agent runs inside `spawning(_:pid:)`, which counts it in flight and bumps a
///   spawn epoch before it starts;
/// - a sweep takes its set of known children and the epoch together, scans, and acts only if no spawn
///   began meanwhile (same epoch, none in flight); otherwise it scans again, or leaves the sweep to the
///   end of the spawn in flight. A process found in such a scan that is not known is not the agent's:
///   a child's pid cannot be reused until the agent reaps it, and only the sweeper reaps non-spawned
///   children;
/// - known children are recorded with their spawn's serial number, and one is forgotten only by the
///   reaping of that very spawn, so a stale "reaped" for a pid that a new spawn reused forgets nothing;
/// - sweeps run one at a time (a sweep asked for during another is run by it, once more, at its end);
/// - a stray's descendants are signalled by identity (pid and start time, through a pidfd), never by a
///   pid that may have been reused; the sweeper `waitpid`s only strays it killed or found as zombies,
///   never with `waitpid(-1)`, and never a pid that swift-subprocess owns.
final class OrphanSweeper: Sendable {
    private struct State {
        /// Spawned children of the agent (guards, or any other process it spawns), by pid: spawn serial.
        var known: [pid_t: UInt64] = [:]
        /// Spawns in flight: their pids may not be known yet.
        var spawning = 0
        /// Bumped when a spawn begins; a sweep whose scan spans a change acts on nothing.
        var epoch: UInt64 = 0
        /// A sweep is running now (sweeps run one at a time).
        var sweeping = false
        /// A sweep was asked for while a spawn was in flight or another sweep ran.
        var sweepPending = false
    }
    private let state = Mutex(State())
    let enabled: Bool

    /// Makes the calling process a child subreaper when `enabled`; a sweeper that is not enabled keeps
    /// its books but never sweeps.
    init(enabled: Bool) {
        self.enabled = enabled && metal_agent_set_child_subreaper() == 0
    }

    /// Whether `pid` is a child the agent spawned and that has not been reaped yet.
    func knows(_ pid: pid_t) -> Bool { state.withLock { $0.known[pid] != nil } }

    /// Runs `spawn` (which returns the spawned pid, if any) with sweeping held off until the pid is
    /// known. `spawn` gets the spawn's serial number, to pass to `reaped(_:serial:)` once the child has
    /// been reaped.
    func spawning<T>(_ spawn: (_ serial: UInt64) async -> T, pid: (T) -> pid_t?) async -> T {
        let serial = state.withLock { s -> UInt64 in
            s.spawning += 1
            s.epoch += 1
            return s.epoch
        }
        let result = await spawn(serial)
        let sweepNow = state.withLock { s -> Bool in
            s.spawning -= 1
            if let p = pid(result) { s.known[p] = serial }
            guard s.spawning == 0, s.sweepPending else { return false }
            s.sweepPending = false
            return true
        }
        if sweepNow { Task.detached { self.sweep() } }
        return result
    }

    /// Forgets a spawned child once swift-subprocess has reaped it (only if `pid` is still the child of
    /// spawn `serial`), then sweeps: its death may have handed helpers to the agent.
    func reaped(_ pid: pid_t, serial: UInt64) {
        state.withLock { s in
            if s.known[pid] == serial { s.known[pid] = nil }
        }
        sweep()
    }

    /// SIGKILLs and reaps every child of the agent that it did not spawn, repeating while their own
    /// children come to it in turn. Returns how many it stopped. Never blocks on another sweep: one
    /// asked for while another runs is run by that one.
    @discardableResult
    func sweep() -> Int {
        guard enabled else { return 0 }
        let mine = state.withLock { s -> Bool in
            if s.sweeping {
                s.sweepPending = true
                return false
            }
            s.sweeping = true
            return true
        }
        guard mine else { return 0 }
        var stopped = 0
        while true {
            stopped += sweepOnce()
            let again = state.withLock { s -> Bool in
                // Run a sweep asked for meanwhile now, unless a spawn in flight will run it when it ends.
                if s.sweepPending && s.spawning == 0 {
                    s.sweepPending = false
                    return true
                }
                s.sweeping = false
                return false
            }
            if !again { return stopped }
        }
    }

    private func sweepOnce() -> Int {
        let me = getpid()
        var stopped = 0
        var rounds = 0
        while rounds < 100 {
            rounds += 1
            let snapshot = state.withLock { s -> (known: [pid_t: UInt64], epoch: UInt64)? in
                guard s.spawning == 0 else {
                    s.sweepPending = true
                    return nil
                }
                return (s.known, s.epoch)
            }
            guard let snapshot else { return stopped }  // a spawn is in flight: it sweeps when done
            let found = ProcessTree.allChildren(of: me) { snapshot.known[$0] != nil }
            if found.isEmpty { return stopped }
            // Act only if no spawn began since the snapshot: then every child the scan found that is not
            // known was not spawned by the agent, and (unreaped) still holds its pid.
            let current = state.withLock { s -> Bool? in
                if s.spawning > 0 {
                    s.sweepPending = true
                    return nil
                }
                return s.epoch == snapshot.epoch
            }
            guard let current else { return stopped }
            guard current else { continue }  // a spawn came and went during the scan: look again
            for stray in found where !stray.isZombie {
                ProcessTree.signal(treeOf: stray.identity, SIGKILL, includingRoot: true)
                stopped += 1
            }
            for stray in found {
                var status: Int32 = 0
                while waitpid(stray.pid, &status, 0) < 0 && errno == EINTR {}  // SIGKILLed or exited: prompt
            }
        }
        return stopped
    }
}
