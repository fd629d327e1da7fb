import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process tree as `/proc` shows it (Linux; elsewhere every query is empty).
///
/// Every answer is a snapshot: by the time it is used, a process in it may have exited and its pid may
/// belong to a stranger (pids wrap around at `/proc/sys/kernel/pid_max`, 32,768 by default on many
/// systems). So processes are named by `ProcessIdentity` (pid plus start time), and `signal(treeOf:)`
/// signals each one through `ProcessIdentity.signal(_:)`, which never reaches a process that reused a pid.
enum ProcessTree {
    /// What `/proc/<pid>/stat` says of one process.
    struct Stat: Sendable, Equatable {
        var pid: pid_t
        /// State letter: `R`, `S`, `D`, `T`, `Z` (zombie), `X` (dead), ...
        var state: Character
        var parent: pid_t
        /// Start time in clock ticks after boot (field 22).
        var startTime: UInt64
        var isZombie: Bool { state == "Z" || state == "X" }
        /// The process's identity as of this snapshot.
        var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTime: startTime, bootID: ProcessIdentity.bootID) }
    }

    /// Every live (not zombie) descendant of `root`, parents before their children.
    ///
    /// Walks the kernel's children lists (`/proc/<pid>/task/<tid>/children`, Linux 3.5), so the cost
    /// follows the size of the tree, not the number of processes on the machine (with 1,000 entries
    /// stopping at once, a scan of all of `/proc` per stop was quadratic); falls back to a scan of
    /// `/proc` where the kernel has no children lists.
    static func descendants(of root: pid_t) -> [Stat] {
        guard var queue = childPIDs(of: root) else { return descendantsByScan(of: root) }
        var result: [Stat] = []
        var next = 0
        while next < queue.count {
            let pid = queue[next]
            next += 1
            guard let stat = stat(pid), !stat.isZombie else { continue }
            result.append(stat)
            queue.append(contentsOf: childPIDs(of: pid) ?? [])
        }
        return result
    }

    private static func descendantsByScan(of root: pid_t) -> [Stat] {
        let children = childrenByParent()
        var result: [Stat] = []
        var queue = children[root] ?? []
        var next = 0
        while next < queue.count {
            let process = queue[next]
            next += 1
            result.append(process)
            queue.append(contentsOf: children[process.pid] ?? [])
        }
        return result
    }

    /// The pids in the children lists of every thread of `pid` (zombies included); nil when the kernel
    /// has no children lists (or `pid` is gone).
    static func childPIDs(of pid: pid_t) -> [pid_t]? {
        #if os(Linux)
        guard let tasks = opendir("/proc/\(pid)/task") else { return nil }
        defer { closedir(tasks) }
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        var found = false
        var result: [pid_t] = []
        while let entry = readdir(tasks) {
            let name = (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self)
            guard name.pointee >= 0x30 && name.pointee <= 0x39 else { continue }
            let fd = "/proc/\(pid)/task/\(String(cString: name))/children".withCString { open($0, O_RDONLY | O_CLOEXEC) }
            guard fd >= 0 else { continue }
            defer { close(fd) }
            found = true
            var value: pid_t = 0
            var inNumber = false
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                for byte in buffer[..<n] {
                    if byte >= 0x30 && byte <= 0x39 {
                        value = value &* 10 &+ pid_t(byte - 0x30)
                        inNumber = true
                    } else if inNumber {
                        result.append(value)
                        value = 0
                        inNumber = false
                    }
                }
            }
            if inNumber { result.append(value) }
        }
        return found ? result : nil
        #else
        return nil
        #endif
    }

    /// Sends `signal` to every live descendant of `root`, and to `root` itself when `includingRoot`.
    /// Nothing is signalled when `root`'s pid now belongs to another process (the descendants found
    /// would be that stranger's). Each process is signalled only if it is still the one the scan found
    /// (same pid and start time): one that exited meanwhile is skipped, and a stranger that took its pid
    /// is never touched.
    /// - Returns: how many processes were signalled.
    @discardableResult
    static func signal(treeOf root: ProcessIdentity, _ signal: Int32, includingRoot: Bool) -> Int {
        guard ProcessIdentity.read(pid: root.pid)?.0 == root else { return 0 }
        var sent = 0
        for process in descendants(of: root.pid) where process.identity.signal(signal) { sent += 1 }
        if includingRoot, root.signal(signal) { sent += 1 }
        return sent
    }

    /// Children of `parent`, live and zombie (from its children lists, else a scan of `/proc`).
    static func allChildren(of parent: pid_t) -> [Stat] {
        if let pids = childPIDs(of: parent) {
            return pids.compactMap { stat($0) }.filter { $0.parent == parent }
        }
        var result: [Stat] = []
        forEachProcess { if $0.parent == parent { result.append($0) } }
        return result
    }

    private static func childrenByParent() -> [pid_t: [Stat]] {
        var children: [pid_t: [Stat]] = [:]
        forEachProcess { if !$0.isZombie { children[$0.parent, default: []].append($0) } }
        return children
    }

    /// What `/proc/<pid>/stat` says of `pid`; nil when there is no such process or this is not Linux.
    /// Reads the file with one `read(2)` into a stack buffer (no Foundation), since a scan of `/proc`
    /// reads one per process.
    static func stat(_ pid: pid_t) -> Stat? {
        #if os(Linux)
        let fd = "/proc/\(pid)/stat".withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer -> Stat? in
            var count = 0
            while count < buffer.count {
                let n = read(fd, buffer.baseAddress! + count, buffer.count - count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                count += n
            }
            return parseStat(pid: pid, UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
        #else
        return nil
        #endif
    }

    /// Parses the text of `/proc/<pid>/stat`: after "pid (comm)" (comm may hold spaces and parentheses,
    /// so the last ')' ends it), state is field 3, ppid field 4, starttime field 22 (proc(5)).
    static func parseStat(pid: pid_t, _ bytes: UnsafeBufferPointer<UInt8>) -> Stat? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var field = 2  // the field that ends at the ')'
        var state: Character?
        var parent: pid_t?
        var value: UInt64 = 0
        var inNumber = false
        var index = close + 1
        while index <= bytes.count {
            let byte = index < bytes.count ? bytes[index] : UInt8(ascii: " ")
            index += 1
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                if inNumber {
                    if field == 4 { parent = pid_t(truncatingIfNeeded: value) }
                    if field == 22 {
                        guard let state, let parent else { return nil }
                        return Stat(pid: pid, state: state, parent: parent, startTime: value)
                    }
                }
                inNumber = false
                continue
            }
            if !inNumber {
                field += 1
                inNumber = true
                value = 0
                if field == 3 { state = Character(UnicodeScalar(byte)) }
            }
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
            }
        }
        return nil
    }

    private static func forEachProcess(_ body: (Stat) -> Void) {
        #if os(Linux)
        guard let dir = opendir("/proc") else { return }
        defer { closedir(dir) }
        // The name is read in place: a `dirent` from readdir(3) is only `d_reclen` bytes long, so copying
        // the whole struct (`entry.pointee`) can read past the end of the kernel's buffer and fault.
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(dir) {
            var name = (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: UInt8.self)
            var value: pid_t = 0
            var digits = true
            while name.pointee != 0 {
                let byte = name.pointee
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                    digits = false
                    break
                }
                value = value &* 10 &+ pid_t(byte - UInt8(ascii: "0"))
                name += 1
            }
            guard digits, value > 0, let stat = stat(value) else { continue }
            body(stat)
        }
        #endif
    }
}
