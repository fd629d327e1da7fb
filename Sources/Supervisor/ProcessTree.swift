import CProcessControl
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The process tree as `/proc` shows it (Linux; elsewhere every query is empty).
enum ProcessTree {
    /// Every live (not zombie) descendant of `root`, parents before their children, from the parent
    /// pid in each `/proc/<pid>/stat`.
    static func descendants(of root: pid_t) -> [pid_t] {
        let children = childrenByParent()
        var result: [pid_t] = []
        var queue = children[root] ?? []
        while !queue.isEmpty {
            let pid = queue.removeFirst()
            result.append(pid)
            queue.append(contentsOf: children[pid] ?? [])
        }
        return result
    }

    /// Live (not zombie) children of `parent`.
    static func children(of parent: pid_t) -> [pid_t] { childrenByParent()[parent] ?? [] }

    /// Zombie children of `parent`.
    static func zombieChildren(of parent: pid_t) -> [pid_t] {
        var result: [pid_t] = []
        forEachProcess { pid, state, ppid in
            if ppid == parent && (state == "Z" || state == "X") { result.append(pid) }
        }
        return result
    }

    private static func childrenByParent() -> [pid_t: [pid_t]] {
        var children: [pid_t: [pid_t]] = [:]
        forEachProcess { pid, state, ppid in
            if state != "Z" && state != "X" { children[ppid, default: []].append(pid) }
        }
        return children
    }

    private static func forEachProcess(_ body: (pid_t, Character, pid_t) -> Void) {
        #if os(Linux)
        guard let dir = opendir("/proc") else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After "pid (comm)": state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ", maxSplits: 2)
            guard fields.count >= 2, let state = fields[0].first, let ppid = pid_t(fields[1]) else { continue }
            body(pid, state, ppid)
        }
        #endif
    }
}

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
                for descendant in ProcessTree.descendants(of: pid) { kill(descendant, SIGKILL) }
                kill(pid, SIGKILL)
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
