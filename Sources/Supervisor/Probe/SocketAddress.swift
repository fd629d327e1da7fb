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

/// A numeric socket address (IPv4 or IPv6) parsed from `http://HOST:PORT`.
struct SocketAddress: Sendable {
    var family: Int32
    /// `sockaddr_in` or `sockaddr_in6` bytes.
    var bytes: [UInt8]
    var hostHeader: String

    /// The address alone, network order: 4 bytes (AF_INET) or 16 (AF_INET6).
    var address: [UInt8] {
        family == AF_INET ? Array(bytes[4..<8]) : Array(bytes[8..<24])
    }

    /// The TCP port.
    var port: Int { Int(UInt16(bytes[2]) << 8 | UInt16(bytes[3])) }

    init?(endpoint: String) {
        guard endpoint.hasPrefix("http://") else { return nil }
        let rest = endpoint.dropFirst("http://".count)
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(after: close)...].drop { $0 == ":" }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            return nil
        }
        guard let port = UInt16(portText.prefix { $0 != "/" }) else { return nil }
        hostHeader = rest.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, String(host), &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            family = AF_INET
            bytes = withUnsafeBytes(of: v4) { Array($0) }
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, String(host), &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            family = AF_INET6
            bytes = withUnsafeBytes(of: v6) { Array($0) }
            return
        }
        return nil
    }
}
