import ConfigModel

/// Where the operator endpoint listens (`--listen`): `none`, or `HOST:PORT` with an IPv4 address,
/// `[IPv6]:PORT` or `localhost:PORT`. Port 0 asks the kernel for a free port (the status file's
/// `operator.endpoint` then names the one taken).
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// No endpoint.
    case none
    /// Listen on `host` (an IP address, or `localhost`), `port`.
    case address(host: String, port: Int)

    /// The default: loopback, port 9090 (the upstream agent's metrics port).
    public static let standard = ListenAddress.address(host: "127.0.0.1", port: 9090)

    /// Why a `--listen` value was not accepted.
    public struct Invalid: Error, CustomStringConvertible {
        /// A sentence naming the value.
        public var description: String
    }

    /// Parses a `--listen` value.
    /// - Throws: `Invalid` for anything but `none`, `HOST:PORT` and `[IPv6]:PORT` with a port 0–65535.
    public init(parsing text: String) throws {
        if text == "none" || text == "off" {
            self = .none
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw Invalid(description: "--listen \(text): expected [IPv6]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw Invalid(description: "--listen \(text): expected HOST:PORT (127.0.0.1:9090) or none")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else {
            throw Invalid(description: "--listen \(text): name the address (127.0.0.1:9090 for loopback, 0.0.0.0:9090 for every interface)")
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw Invalid(description: "--listen \(text): the port must be a number from 0 to 65535")
        }
        self = .address(host: String(host), port: port)
    }

    /// True for addresses only this machine reaches (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        guard case .address(let host, _) = self else { return true }
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// True when a second listener on `host`:`port` could not bind beside this one (Linux answers the
    /// second `bind(2)` with EADDRINUSE): the same non-zero port, and
    /// - the same address (`localhost` is 127.0.0.1; IPv4 short forms such as `127.1` count as what they
    ///   stand for, see `IPAddressText.bytes`), or
    /// - an IPv4 wildcard (`0.0.0.0`) and any IPv4 address, or
    /// - an IPv6 wildcard (`::`, dual-stack by default) and any address at all.
    ///
    /// An IPv4 wildcard beside an IPv6 address (`0.0.0.0` and `::1`) does not collide. Host names other
    /// than `localhost` are compared as text: a name is not resolved here.
    public func collides(withHost host: String, port: Int) -> Bool {
        guard case .address(let mine, let myPort) = self, myPort != 0, myPort == port else { return false }
        func normal(_ text: String) -> [UInt8]? {
            text.lowercased() == "localhost" ? [127, 0, 0, 1] : IPAddressText.bytes(text)
        }
        guard let a = normal(mine), let b = normal(host) else { return mine.lowercased() == host.lowercased() }
        func wildcard(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 0 } }
        if a == b { return true }
        if (a.count == 16 && wildcard(a)) || (b.count == 16 && wildcard(b)) { return true }
        return a.count == b.count && (wildcard(a) || wildcard(b))
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .address(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}
