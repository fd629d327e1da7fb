/// How hard a download tries: attempts, the delay between them, and when a silent connection counts as stalled.
public struct DownloadPolicy: Sendable, Hashable {
    /// Attempts per download, the first included, before it fails with `ModelDownloadFailed`.
    public var attempts: Int
    /// Delay before the second attempt; it doubles each time up to `maxDelay`.
    public var initialDelay: Duration
    /// Longest delay between attempts.
    public var maxDelay: Duration
    /// A connection that delivers no byte for this long is dropped and retried (resuming).
    public var stallTimeout: Duration
    /// Time to establish a connection.
    public var connectTimeout: Duration

    /// Creates a policy.
    public init(
        attempts: Int = 6, initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(60),
        stallTimeout: Duration = .seconds(60), connectTimeout: Duration = .seconds(30)
    ) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.stallTimeout = stallTimeout
        self.connectTimeout = connectTimeout
    }

    /// The default: 6 attempts, 1 s doubling to at most 60 s between them, 60 s without a byte is a stall.
    public static let standard = DownloadPolicy()

    /// The delay after failed attempt `n` (1-based): `initialDelay * 2^(n-1)`, at most `maxDelay`.
    public func delay(afterAttempt n: Int) -> Duration {
        var d = initialDelay
        for _ in 1..<max(1, n) {
            d = d * 2
            if d >= maxDelay { return maxDelay }
        }
        return min(d, maxDelay)
    }
}
