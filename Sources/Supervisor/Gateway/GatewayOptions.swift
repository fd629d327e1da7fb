/// How the gateway listens and how long it waits for an entry to become Ready.
public struct GatewayOptions: Sendable, Hashable {
    /// Address to bind (an IP address), from `--gateway-listen HOST:PORT`.
    public var host: String
    /// TCP port to bind; 0 picks a free one (tests).
    public var port: Int
    /// How long a request waits for its entry to become Ready (a start on demand included) before the
    /// answer is 503 with `Retry-After` (`--gateway-wait`).
    public var readyWait: Duration
    /// Seconds a 503 tells the client to wait before retrying (`Retry-After`).
    public var retryAfterSeconds: Int
    /// The largest request body read, in bytes (a larger one is answered 413).
    public var maxBodyBytes: Int
    /// How often idle deadlines are checked.
    public var idleCheckInterval: Duration

    /// Creates options; defaults: wait 120 s for Ready, `Retry-After: 5`, bodies up to 64 MiB, idle
    /// deadlines checked every 250 ms.
    public init(
        host: String, port: Int, readyWait: Duration = .seconds(120), retryAfterSeconds: Int = 5,
        maxBodyBytes: Int = 64 << 20, idleCheckInterval: Duration = .milliseconds(250)
    ) {
        self.host = host
        self.port = port
        self.readyWait = readyWait
        self.retryAfterSeconds = retryAfterSeconds
        self.maxBodyBytes = maxBodyBytes
        self.idleCheckInterval = idleCheckInterval
    }

    /// Reads `HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`, `:8080` for 127.0.0.1); `none` is nil.
    /// - Throws: `GatewayOptions.AddressError` for anything else.
    public static func parseListen(_ text: String) throws(AddressError) -> (host: String, port: Int)? {
        if text == "none" { return nil }
        guard let colon = text.lastIndex(of: ":") else { throw AddressError(text: text) }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65535).contains(port) else { throw AddressError(text: text) }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        guard !host.contains(" ") else { throw AddressError(text: text) }
        return (host, port)
    }

    /// A listen address that is neither `HOST:PORT` nor `none`.
    public struct AddressError: Error, CustomStringConvertible {
        public var text: String
        public var description: String { "\"\(text)\" is not HOST:PORT (127.0.0.1:8080, [::1]:8080) or none" }
    }
}
