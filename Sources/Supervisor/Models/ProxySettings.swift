#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The HTTP proxy a download goes through, from the conventional environment variables.
///
/// `HTTPS_PROXY` for `https://` URLs, `HTTP_PROXY` for `http://` (the lower-case spellings too, which
/// win as in curl), except for hosts that `NO_PROXY` lists: `*` (every host), a host name (that host and
/// its subdomains; a leading `.` is ignored), or an IP address. Readiness probes never use a proxy;
/// only model downloads read these.
public struct ProxySettings: Sendable, Hashable {
    /// A proxy's address.
    public struct Server: Sendable, Hashable {
        /// Host name or IP address of the proxy.
        public var host: String
        /// TCP port of the proxy (80 when the variable names none, 443 for an `https://` proxy URL).
        public var port: Int
    }

    var http: Server?
    var https: Server?
    var noProxy: [String]

    /// Reads `HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY` (and lower-case spellings) from `environment`.
    public init(environment: [String: String]) {
        func value(_ name: String) -> String? {
            (environment[name.lowercased()] ?? environment[name]).flatMap { $0.isEmpty ? nil : $0 }
        }
        http = value("HTTP_PROXY").flatMap(Self.server)
        https = value("HTTPS_PROXY").flatMap(Self.server)
        noProxy = (value("NO_PROXY") ?? "").split(separator: ",").map {
            var entry = $0.trimmingBlanks().lowercased()
            if entry.hasPrefix(".") { entry.removeFirst() }
            if let colon = entry.lastIndex(of: ":"), !entry.contains("]"), entry.filter({ $0 == ":" }).count == 1 {
                entry = String(entry[..<colon])
            }
            return entry
        }.filter { !$0.isEmpty }
    }

    /// The proxy for a URL with this scheme and host, or nil to connect directly.
    public func server(scheme: String, host: String) -> Server? {
        let host = host.lowercased().trimming(charactersIn: "[]")
        for entry in noProxy where entry == "*" || host == entry || host.hasSuffix("." + entry) { return nil }
        return scheme.lowercased() == "https" ? https : http
    }

    /// `http://user@host:port/` or `host:port` -> host and port (default 80, or 443 for an https:// proxy URL).
    static func server(_ text: String) -> Server? {
        var rest = Substring(text)
        var port = 80
        if let scheme = rest.firstRange(of: "://") {
            if rest[..<scheme.lowerBound].lowercased() == "https" { port = 443 }
            rest = rest[scheme.upperBound...]
        }
        rest = rest.prefix { $0 != "/" }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        var host = rest
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("]") {
            guard let p = Int(rest[rest.index(after: colon)...]) else { return nil }
            port = p
            host = rest[..<colon]
        }
        host = host.trimming(charactersIn: "[]")[...]
        return host.isEmpty ? nil : Server(host: String(host), port: port)
    }
}
