#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds free TCP ports for services without `spec.port`: the kernel picks one (bind to port 0) and
/// the allocator never hands out a port it already gave to another live service.
struct PortAllocator: Sendable {
    private(set) var inUse: Set<Int> = []

    /// Reserves `port` (a fixed `spec.port`).
    mutating func reserve(_ port: Int) { inUse.insert(port) }

    /// Releases a port when its service stops for good.
    mutating func release(_ port: Int) { inUse.remove(port) }

    /// A port that is free on `host` now and not held by another service; nil if none was found.
    mutating func allocate(host: String) -> Int? {
        for _ in 0..<64 {
            guard let port = Self.ephemeralPort(host: host), !inUse.contains(port) else { continue }
            inUse.insert(port)
            return port
        }
        return nil
    }

    /// True when nothing listens on `port` at `host` (a bind succeeds).
    static func isFree(_ port: Int, host: String) -> Bool { bindProbe(host: host, port: port) != nil }

    static func ephemeralPort(host: String) -> Int? { bindProbe(host: host, port: 0) }

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
