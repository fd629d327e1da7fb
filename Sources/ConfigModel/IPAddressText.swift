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
}
