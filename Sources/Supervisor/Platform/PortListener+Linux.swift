#if os(Linux)
import CProcessControl
import Glibc

extension PortListener {
    static func ownerOnLinux(of port: Int, tree root: pid_t) -> PortListener {
        var inodes = [UInt64](repeating: 0, count: 64)
        let count = Int(inodes.withUnsafeMutableBufferPointer { metal_agent_tcp_listener_inodes(Int32(port), $0.baseAddress, Int32($0.count)) })
        // No diagnostics (an old kernel, a seccomp filter) or nothing listening: the probe is all there is.
        guard count > 0 else { return .unknown }
        let listening = Set(inodes.prefix(min(count, inodes.count)))
        var queue = [root]
        var next = 0
        var unreadable = false
        while next < queue.count {
            let pid = queue[next]
            next += 1
            switch socketInodes(of: pid) {
            case .some(let held):
                if !held.isDisjoint(with: listening) { return .runtime }
            case .none:
                unreadable = true
            }
            queue.append(contentsOf: ProcessTree.childPIDs(of: pid) ?? [])
        }
        // More listeners than were read: the runtime's could be among those not seen.
        return unreadable || count > inodes.count ? .unknown : .stranger
    }

    /// The inodes of the sockets `pid` has open (`/proc/<pid>/fd/<n>` -> `socket:[inode]`, proc(5));
    /// an empty set when the process is gone, nil when its descriptors may not be read (EACCES: another
    /// user's process, or one that is not dumpable).
    static func socketInodes(of pid: pid_t) -> Set<UInt64>? {
        let folder = "/proc/\(pid)/fd"
        guard let directory = opendir(folder) else { return errno == EACCES || errno == EPERM ? nil : [] }
        defer { closedir(directory) }
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let prefix = Array("socket:[".utf8)
        var result: Set<UInt64> = []
        var target = [UInt8](repeating: 0, count: 64)
        while let entry = readdir(directory) {
            let name = (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self)
            guard name.pointee >= 0x30 && name.pointee <= 0x39 else { continue }
            let path = folder + "/" + String(cString: name)
            let length = target.withUnsafeMutableBufferPointer { buffer in
                path.withCString { readlink($0, buffer.baseAddress!, buffer.count) }
            }
            guard length > prefix.count, target.starts(with: prefix) else { continue }
            var inode: UInt64 = 0
            for byte in target[prefix.count..<length] {
                guard byte >= 0x30 && byte <= 0x39 else { break }
                inode = inode &* 10 &+ UInt64(byte - 0x30)
            }
            result.insert(inode)
        }
        return result
    }
}
#endif
