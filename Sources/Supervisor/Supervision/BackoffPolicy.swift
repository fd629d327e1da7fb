/// Exponential restart backoff, as the kubelet applies it to crashing containers (CrashLoopBackOff).
///
/// The n-th consecutive restart waits `initial * 2^(n-1)`, capped at `max`; after a process has run
/// Ready for `resetAfter`, the count starts again. Kubelet defaults: 10 s initial, 300 s cap, reset
/// after 10 minutes (kubelet `pkg/kubelet/kubelet.go`: `backOffPeriod`, `MaxContainerBackOff`).
public struct BackoffPolicy: Sendable, Hashable {
    /// Delay before the first restart.
    public var initial: Duration
    /// Longest delay.
    public var max: Duration
    /// Ready time after which a later crash counts as the first again.
    public var resetAfter: Duration

    /// The kubelet's defaults: 10 s doubling to 300 s, reset after 10 minutes.
    public static let kubelet = BackoffPolicy(initial: .seconds(10), max: .seconds(300), resetAfter: .seconds(600))

    /// Creates a policy; a `max` below `initial` is raised to `initial`.
    public init(initial: Duration, max: Duration, resetAfter: Duration) {
        self.initial = initial
        self.max = Swift.max(max, initial)
        self.resetAfter = resetAfter
    }

    /// Delay before restart number `attempt` (1 for the first restart after a crash).
    public func delay(forAttempt attempt: Int) -> Duration {
        guard attempt > 1 else { return initial }
        var delay = initial
        for _ in 1..<attempt {
            delay = delay * 2
            if delay >= max { return max }
        }
        return delay
    }
}
