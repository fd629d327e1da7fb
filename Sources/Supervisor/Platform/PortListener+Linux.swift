#if os(Linux)
import CProcessControl
import Glibc

extension PortListener {
    static func ownerOnLinux(of probed: ListenAddressMatch.Probed, tree root: pid_t) -> PortListener {
        guard let listeners = listeners(port: probed.port) else { return .unknown }
        let receivers = ListenAddressMatch.receivers(of: probed, among: listeners)
        // Nothing listens there (an address this check does not see): the probe is all there is.
        guard !receivers.isEmpty else { return .unknown }
        let listening = Set(receivers.map(\.inode))
        var held: Set<UInt64> = []
        var queue = [root]
        var next = 0
        while next < queue.count {
            let pid = queue[next]
            next += 1
            // A process whose descriptors may not be read, or a kernel without children lists: the
            // tree is not fully known, so a listener not found in it proves nothing.
            guard let sockets = socketInodes(of: pid) else { return .unknown }
            held.formUnion(sockets)
            // (No children list for a descendant: it has just exited.)
            if let children = ProcessTree.childPIDs(of: pid) {
                queue.append(contentsOf: children)
            } else if pid == root {
                // No children list for the root: a kernel without them (cannot tell), or a root that is
                // gone: the runtime exited and was reaped while a probe was answered, by another
                // program then (the agent sees the exit a moment later).
                return ProcessTree.stat(root) == nil ? .stranger : .unknown
            }
        }
        // Every listener must be the tree's: one more, of another program (SO_REUSEPORT), takes a share
        // of the connections.
        return listening.isSubset(of: held) ? .runtime : .stranger
    }

    /// Every TCP socket listening on `port`, any address (sock_diag); nil when the kernel does not say.
    static func listeners(port: Int) -> [ListenAddressMatch.Listener]? {
        var capacity = 64
        while true {
            var found = [metal_agent_tcp_listener](repeating: metal_agent_tcp_listener(), count: capacity)
            let count = Int(found.withUnsafeMutableBufferPointer { metal_agent_tcp_listeners(Int32(port), $0.baseAddress, Int32($0.count)) })
            guard count >= 0 else { return nil }
            guard count <= capacity else {
                capacity = count + 16  // more listeners than room: ask again with enough
                continue
            }
            return found.prefix(count).map { socket in
                let length = socket.family == AF_INET ? 4 : 16
                let address = withUnsafeBytes(of: socket.address) { Array($0.prefix(length)) }
                return ListenAddressMatch.Listener(inode: socket.inode, family: socket.family, address: address, v6only: socket.v6only != 0)
            }
        }
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
