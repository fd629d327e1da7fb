/// Time as the supervision loop sees it when it backs off: a monotonic reading and a sleep.
///
/// The agent uses `SystemSupervisionClock` (`ContinuousClock`, which keeps counting while the machine
/// sleeps, as the kubelet's backoff does with wall time). Tests drive a manual clock, so a schedule of
/// 10 s, 20 s, ... 300 s and the 10-minute reset are checked without waiting for them.
public protocol SupervisionClock: Sendable {
    /// Monotonic time since an arbitrary origin.
    var now: Duration { get }
    /// Suspends for `duration` of this clock's time.
    /// - Throws: `CancellationError` when the calling task is cancelled first.
    func sleep(for duration: Duration) async throws
}
