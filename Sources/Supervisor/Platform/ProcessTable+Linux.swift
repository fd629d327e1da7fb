#if os(Linux)
import Glibc

/// Linux's process table: `/proc/<pid>/stat` and the kernel's children lists (proc(5)).
extension ProcessTree {
    /// The pids in the children lists of every thread of `pid` (zombies included); nil when the kernel
    /// has no children lists (or `pid` is gone).
    static func childPIDs(of pid: pid_t) -> [pid_t]? {
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
            // On the stack: the orphan sweep reads one such file per thread of every guard, each pass.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer in
                while true {
                    let n = read(fd, buffer.baseAddress, buffer.count)
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
            }
            if inNumber { result.append(value) }
        }
        return found ? result : nil
    }

    /// What `/proc/<pid>/stat` says of `pid`; nil when there is no such process or this is not Linux.
    /// Reads the file with one `read(2)` into a stack buffer (no Foundation), since a scan of `/proc`
    /// reads one per process.
    static func stat(_ pid: pid_t) -> Stat? {
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

    /// Calls `body` with every process in `/proc` (a snapshot, read one entry at a time).
    static func forEachProcess(_ body: (Stat) -> Void) {
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
    }
}
#endif
