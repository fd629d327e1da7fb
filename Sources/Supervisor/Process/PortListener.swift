#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who answers on a runtime's port: the runtime's own process tree, or a stranger.
///
/// A readiness probe only sees that *something* answers HTTP on the port. Between the agent's check that
/// an agent-assigned port is free and the runtime's own `bind` (seconds, for a runtime that loads its
/// model first, as `mlx_lm.server` does), another program can take the port: a second agent that picked
/// the same free port, or any server. The probe then passes on that program's answers, the entry shows
/// Ready, and its requests reach the stranger while the runtime fails to bind. So the agent asks, once,
/// when readiness first passes, whose socket listens there (`SupervisionLoop`).
enum PortListener: Equatable, Sendable {
    /// A process of the runtime's tree (the guard, the runtime, or one of their descendants) holds a
    /// socket that listens on the port.
    case runtime
    /// Sockets listen on the port, and none of them belongs to the runtime's tree.
    case stranger
    /// The agent cannot tell, and trusts the probe: no socket diagnostics on this platform or kernel, a
    /// process of the tree whose descriptors it may not read, or no listening socket at all (the probe
    /// reached the runtime another way).
    case unknown

    /// Whose socket takes the connections to `endpoint` (`http://HOST:PORT`, a numeric host, as the
    /// probe reaches it): the tree rooted at `root` (the guard's pid, or the runtime's when it runs
    /// unguarded), or a stranger's. Only the listeners the kernel would hand such a connection to count
    /// (`receivers(of:among:)`): one on another address of the same port (`127.0.0.2:P`, or `[::1]:P`
    /// beside a runtime on `127.0.0.1:P`) neither makes the runtime a stranger nor hides one.
    ///
    /// Linux: the listening sockets from sock_diag(7), matched against the `socket:[inode]` links of
    /// `/proc/<pid>/fd` for `root` and its descendants (the kernel's children lists); a few system calls
    /// per process of the tree. Elsewhere, or for an endpoint that is not a numeric address: `.unknown`.
    static func owner(of endpoint: String, tree root: pid_t) -> PortListener {
        #if os(Linux)
        guard let address = ListenAddressMatch.Probed(endpoint: endpoint) else { return .unknown }
        return ownerOnLinux(of: address, tree: root)
        #else
        return .unknown
        #endif
    }
}

/// Which listening sockets take a TCP connection to an address, by Linux's listener lookup.
enum ListenAddressMatch {
    /// The address a connection goes to. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is its IPv4
    /// address: the kernel hands such connections to the IPv4 address's listeners. The unspecified
    /// address is the loopback address: Linux connects `0.0.0.0` to `127.0.0.1` and `::` to `::1`
    /// (`ip_route_connect`, `ip6_datagram_dst_update`), which is where a probe of a runtime bound to
    /// `--host 0.0.0.0` goes.
    struct Probed: Equatable, Sendable {
        /// AF_INET or AF_INET6.
        var family: Int32
        /// 4 bytes (AF_INET) or 16 (AF_INET6), network order.
        var address: [UInt8]
        /// TCP port, 1...65535.
        var port: Int

        init(family: Int32, address: [UInt8], port: Int) {
            (self.family, self.address) = Self.unmapped(family, address) ?? (family, address)
            if self.address.allSatisfy({ $0 == 0 }) {
                self.address = self.family == Int32(AF_INET) ? [127, 0, 0, 1] : Array(repeating: 0, count: 15) + [1]
            }
            self.port = port
        }

        /// From `http://HOST:PORT` with a numeric host (IPv4, or IPv6 in brackets); nil otherwise.
        init?(endpoint: String) {
            guard let socket = SocketAddress(endpoint: endpoint) else { return nil }
            self.init(family: socket.family, address: socket.address, port: socket.port)
        }

        /// `(AF_INET, the last 4 bytes)` for an IPv4-mapped IPv6 address; nil for any other.
        static func unmapped(_ family: Int32, _ address: [UInt8]) -> (Int32, [UInt8])? {
            guard family == Int32(AF_INET6), address.count == 16,
                address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xff, address[11] == 0xff
            else { return nil }
            return (Int32(AF_INET), Array(address[12..<16]))
        }
    }

    /// A socket in the LISTEN state on the probed port.
    struct Listener: Equatable, Sendable {
        /// The socket's inode (`socket:[inode]` in `/proc/<pid>/fd`).
        var inode: UInt64
        /// AF_INET or AF_INET6.
        var family: Int32
        /// The bound address: 4 or 16 bytes, network order; all zeros for the wildcard.
        var address: [UInt8]
        /// An AF_INET6 socket that takes IPv6 only (IPV6_V6ONLY).
        var v6only: Bool
    }

    /// The listeners of `listeners` that take a connection to `probed`: those that cover its address,
    /// narrowed to the most specific. Linux looks for a listener bound to the exact address first and
    /// falls back to the wildcard's; at one address an IPv4 socket scores over an IPv6 dual-stack one
    /// (`__inet_lookup_listener` and `compute_score`, net/ipv4/inet_hashtables.c). Several listeners
    /// of the same rank (an SO_REUSEPORT group) share the connections, so all of them are returned.
    /// Empty when none covers the address.
    static func receivers(of probed: Probed, among listeners: [Listener]) -> [Listener] {
        var best: [Listener] = []
        var bestRank = 0
        for listener in listeners {
            let rank = self.rank(listener, for: probed)
            guard rank > 0 else { continue }
            if rank > bestRank {
                bestRank = rank
                best = [listener]
            } else if rank == bestRank {
                best.append(listener)
            }
        }
        return best
    }

    /// 0 when `listener` does not take connections to `probed`; higher for a more specific match.
    static func rank(_ listener: Listener, for probed: Probed) -> Int {
        let mapped = Probed.unmapped(listener.family, listener.address)
        let family = mapped?.0 ?? listener.family
        let address = mapped?.1 ?? listener.address
        let wildcard = address.allSatisfy { $0 == 0 }
        if probed.family == Int32(AF_INET) {
            if family == Int32(AF_INET) && address == probed.address {
                return listener.family == Int32(AF_INET) ? 4 : 3
            }
            if wildcard && listener.family == Int32(AF_INET) { return 2 }
            if wildcard && listener.family == Int32(AF_INET6) && !listener.v6only { return 1 }
            return 0
        }
        guard listener.family == Int32(AF_INET6), mapped == nil else { return 0 }
        if address == probed.address { return 4 }
        return wildcard ? 2 : 0
    }
}
