/// The real clock: `ContinuousClock`.
public struct SystemSupervisionClock: SupervisionClock {
    private let origin = ContinuousClock.now

    /// Creates a clock whose `now` starts at zero.
    public init() {}

    public var now: Duration { ContinuousClock.now - origin }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}
