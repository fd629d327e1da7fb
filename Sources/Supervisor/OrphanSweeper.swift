import CProcessControl
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Stops helpers that a dead runtime guard left to the agent (Linux).
///
/// The agent is a child subreaper (`PR_SET_CHILD_SUBREAPER`), so when a guard dies without cleaning up
/// (SIGKILLed by hand, or after the agent's own last-resort SIGKILL), the helpers that had escaped its
/// process group are re-parented to the agent instead of to init. Every child of the agent that is not
/// a guard it spawned is such a helper: `sweep()` SIGKILLs it (and what it started) and reaps it.
/// swift-subprocess reaps the guards itself (by pidfd), so the sweeper reaps only pids it killed or
/// found as zombies, never with `waitpid(-1)`, and never while a spawn is in flight (a just-spawned
/// guard is a child whose pid is not known yet).
final class OrphanSweeper: Sendable {
    private struct State {
        var guards: Set<pid_t> = []
        var spawning = 0
        /// A sweep was skipped while a spawn was in flight; it runs when the last one ends.
        var sweepPending = false
    }
    private let state = Mutex(State())
    let enabled: Bool

    /// Makes the calling process a child subreaper when `enabled`.
    init(enabled: Bool) {
        self.enabled = enabled && mac_set_child_subreaper() == 0
    }

    /// Runs `spawn` (which returns the spawned pid, if any) with sweeping held off until the pid is known.
    func spawning<T>(_ spawn: () async -> T, pid: (T) -> pid_t?) async -> T {
        state.withLock { $0.spawning += 1 }
        let result = await spawn()
        let sweepNow = state.withLock { s -> Bool in
            s.spawning -= 1
            if let p = pid(result) { s.guards.insert(p) }
            guard s.spawning == 0, s.sweepPending else { return false }
            s.sweepPending = false
            return true
        }
        if sweepNow { Task.detached { self.sweep() } }
        return result
    }

    /// Forgets a guard once swift-subprocess has reaped it, then sweeps.
    func reaped(_ pid: pid_t) {
        state.withLock { _ = $0.guards.remove(pid) }
        sweep()
    }

    /// SIGKILLs and reaps every child of the agent that is not one of its guards, repeating while their
    /// own children come to it in turn. Returns how many it stopped.
    @discardableResult
    func sweep() -> Int {
        guard enabled else { return 0 }
        let me = getpid()
        var stopped = 0
        for _ in 0..<100 {
            let known = state.withLock { s -> Set<pid_t>? in
                guard s.spawning == 0 else {
                    s.sweepPending = true
                    return nil
                }
                return s.guards
            }
            guard let known else { return stopped }  // a spawn is in flight: it sweeps when done
            let strays = ProcessTree.children(of: me).filter { !known.contains($0) }
            let zombies = ProcessTree.zombieChildren(of: me).filter { !known.contains($0) }
            if strays.isEmpty && zombies.isEmpty { return stopped }
            for pid in strays {
                ProcessTree.signal(treeOf: pid, SIGKILL, includingRoot: true)
                stopped += 1
            }
            for pid in strays + zombies {
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)  // SIGKILLed or already exited: returns promptly
            }
        }
        return stopped
    }
}
