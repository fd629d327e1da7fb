#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds free TCP ports for services without `spec.port`, in a range of its own (`--port-range`), and
/// never hands out a port it already gave to another live service.
///
/// Why not the kernel's pick (bind to port 0): that port comes from the ephemeral range, the one
/// outgoing connections take their source ports from (Linux `net.ipv4.ip_local_port_range`, 32768–60999
/// by default; macOS 49152–65535). On a busy machine a connection can take the port between the check
/// and the runtime's own bind, and the runtime fails with "address in use". The default range is
/// Kubernetes' NodePort range (30000–32767), which sits below both.
struct PortAllocator: Sendable {
    private(set) var inUse: Set<Int> = []
    /// Where agent-assigned ports come from.
    let range: ClosedRange<Int>
    /// Ports never handed out: the agent's own listeners' (the gateway, the operator endpoint), free
    /// for a bind while such a listener waits to try its port again.
    let excluded: Set<Int>
    private var next: Int

    /// An allocator handing out ports of `range` but not `excluded`, starting at a random one (two
    /// agents on one machine then rarely try the same port at the same moment).
    init(range: ClosedRange<Int> = AgentOptions.defaultPortRange, excluded: Set<Int> = []) {
        self.range = range
        self.excluded = excluded
        next = Int.random(in: range)
    }

    /// Reserves `port` (a fixed `spec.port`).
    mutating func reserve(_ port: Int) { inUse.insert(port) }

    /// Releases a port when its service stops for good.
    mutating func release(_ port: Int) { inUse.remove(port) }

    /// The next port of `range` that is free on `host` now (a bind succeeds) and not held by another
    /// service, taking turns through the range; nil when every port of it is taken.
    mutating func allocate(host: String) -> Int? {
        for _ in 0..<range.count {
            let port = next
            next = port == range.upperBound ? range.lowerBound : port + 1
            guard !inUse.contains(port), !excluded.contains(port), Self.isFree(port, host: host) else { continue }
            inUse.insert(port)
            return port
        }
        return nil
    }

    /// The kernel's ephemeral (source) port range, from `/proc/sys/net/ipv4/ip_local_port_range`; nil
    /// where that file is absent (macOS) or unreadable.
    static func ephemeralRange(file: String = "/proc/sys/net/ipv4/ip_local_port_range") -> ClosedRange<Int>? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        let bounds = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return nil }
        return bounds[0]...bounds[1]
    }

    /// True when nothing listens on `port` at `host` (a bind succeeds).
    static func isFree(_ port: Int, host: String) -> Bool { bindProbe(host: host, port: port) != nil }

    /// Binds a TCP socket to `host:port` (0: the kernel picks) and returns the bound port, or nil
    /// when the bind fails (port taken, bad address).
    private static func bindProbe(host: String, port: Int) -> Int? {
        let address = host.isEmpty ? "0.0.0.0" : host
        if address.contains(":") {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, address, &addr.sin6_addr) == 1 else { return nil }
            return bindAndRead(family: AF_INET6, addr) { UInt16(bigEndian: $0.sin6_port) }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else { return nil }
        return bindAndRead(family: AF_INET, addr) { UInt16(bigEndian: $0.sin_port) }
    }

    private static func bindAndRead<Address>(family: Int32, _ address: Address, port: (Address) -> UInt16) -> Int? {
        let fd = socket(family, SOCK_STREAM_TYPE, 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = address
        let size = socklen_t(MemoryLayout<Address>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) == 0 } }
        guard bound else { return nil }
        var length = size
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        return named ? Int(port(addr)) : nil
    }
}
