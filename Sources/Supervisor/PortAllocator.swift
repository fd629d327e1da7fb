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

    private static func bindProbe(host: String, port: Int) -> Int? {
        let isV6 = host.contains(":")
        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if isV6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &addr.sin6_addr) == 1 else { return nil }
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
            }
            guard ok else { return nil }
            var out = sockaddr_in6()
            var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
            _ = withUnsafeMutablePointer(to: &out) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            return Int(UInt16(bigEndian: out.sin6_port))
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            let address = host == "0.0.0.0" || host.isEmpty ? "0.0.0.0" : host
            guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else { return nil }
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            guard ok else { return nil }
            var out = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &out) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            return Int(UInt16(bigEndian: out.sin_port))
        }
    }
}
