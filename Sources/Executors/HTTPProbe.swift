/// An HTTP check of a runtime process, in the shape of a Kubernetes `httpGet` probe.
///
/// Defaults for the timing fields are the kubelet's (`periodSeconds` 10, `timeoutSeconds` 1,
/// `successThreshold` 1, `failureThreshold` 3; Kubernetes API reference, `Probe`).
public struct HTTPProbe: Sendable, Hashable, Codable {
    /// Request path, e.g. `/health`.
    public var path: String
    /// HTTP method: `GET`, or `POST` for a probe that sends `body`.
    public var method: String
    /// JSON request body for `POST` probes (sent with `Content-Type: application/json`).
    public var body: String?
    /// Status codes that count as success (kubelet: 200 to 399).
    public var successStatus: ClosedRange<Int>
    /// When set, the response body must contain this text too (e.g. a model id in `/v1/models`).
    public var bodyContains: String?
    /// Seconds between two probes.
    public var period: Duration
    /// Seconds before one probe counts as failed.
    public var timeout: Duration
    /// Consecutive successes needed to count as passing.
    public var successThreshold: Int
    /// Consecutive failures needed to count as failing.
    public var failureThreshold: Int

    /// Creates a probe; timing defaults are the kubelet's.
    public init(
        path: String, method: String = "GET", body: String? = nil, successStatus: ClosedRange<Int> = 200...399, bodyContains: String? = nil,
        period: Duration = .seconds(10), timeout: Duration = .seconds(1), successThreshold: Int = 1, failureThreshold: Int = 3
    ) {
        self.path = path
        self.method = method
        self.body = body
        self.successStatus = successStatus
        self.bodyContains = bodyContains
        self.period = period
        self.timeout = timeout
        self.successThreshold = successThreshold
        self.failureThreshold = failureThreshold
    }

    /// True when a response with this status and body passes the probe.
    public func accepts(status: Int, body: String) -> Bool {
        guard successStatus.contains(status) else { return false }
        if let bodyContains { return body.contains(bodyContains) }
        return true
    }
}
