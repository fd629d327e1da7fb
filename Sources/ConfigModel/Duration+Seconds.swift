extension Duration {
    /// The duration in seconds, fractions included: for the edges that speak seconds (YAML fields such
    /// as `terminationGracePeriodSeconds`, the status file's JSON, a child's argv). Inside the code a
    /// time span is a `Duration`.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, rounded down (for `poll(2)` timeouts).
    public var inMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
