#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Numeric IP addresses as text (`inet_pton(3)`): what `--host` and `spec.bindAddress` accept. A host
/// name (`localhost`) is refused: the agent checks that an entry's port is free, and probes its runtime,
/// at that very address, and a name can resolve to several.
public enum IPAddressText {
    /// True for an IPv4 address in dotted-quad form (`127.0.0.1`) or an IPv6 address (`::1`,
    /// `::ffff:127.0.0.1`), by `inet_pton(AF_INET)` or `inet_pton(AF_INET6)`.
    public static func isNumeric(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// The address in network byte order (4 bytes for IPv4, 16 for IPv6), or nil for text that is not a
    /// numeric address; `::ffff:127.0.0.1` gives the 4 bytes of `127.0.0.1`. IPv4 is read as the system's
    /// resolver reads a listen address (`inet_aton(3)`, which `getaddrinfo` uses for numeric hosts), so the
    /// short forms `127.1`, `0` and `2130706433` count as the addresses they stand for.
    public static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_aton(text, &v4) != 0 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let all = withUnsafeBytes(of: &v6) { Array($0) }
        return all[0..<10].allSatisfy { $0 == 0 } && all[10] == 0xff && all[11] == 0xff ? Array(all[12...]) : all
    }
}
