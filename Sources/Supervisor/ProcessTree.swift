import Foundation
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

    /// Sends `signal` to every live descendant of `root`, and to `root` itself when `includingRoot`.
    static func signal(treeOf root: pid_t, _ signal: Int32, includingRoot: Bool) {
        for pid in descendants(of: root) { kill(pid, signal) }
        if includingRoot { kill(root, signal) }
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

    /// What `/proc/<pid>/stat` says of `pid`: its state letter (`Z` for a zombie), parent pid and start
    /// time (clock ticks after boot); nil when there is no such process or this is not Linux.
    static func stat(_ pid: pid_t) -> (state: Character, parent: pid_t, startTime: UInt64)? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "pid (comm)": state is field 3, ppid field 4, starttime field 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let parent = pid_t(fields[1]),
              let start = UInt64(fields[19]) else { return nil }
        return (state, parent, start)
        #else
        return nil
        #endif
    }

    private static func forEachProcess(_ body: (pid_t, Character, pid_t) -> Void) {
        #if os(Linux)
        guard let dir = opendir("/proc") else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), let stat = stat(pid) else { continue }
            body(pid, stat.state, stat.parent)
        }
        #endif
    }
}
