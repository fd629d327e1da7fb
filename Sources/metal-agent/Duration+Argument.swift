import ArgumentParser

/// A duration flag value written `500ms`, `10s`, `5m` or `1h` (a bare number means seconds).
struct DurationArgument: ExpressibleByArgument, Sendable {
    var duration: Duration

    init?(argument: String) {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(argument)
        var scale = 1.0
        for (suffix, factor) in units where argument.hasSuffix(suffix) {
            number = argument.dropLast(suffix.count)
            scale = factor
            break
        }
        // At most a year: larger values are typos, and would overflow the clock's arithmetic.
        guard let value = Double(number), value >= 0, value.isFinite, value * scale <= 366 * 86_400 else { return nil }
        duration = .milliseconds(Int64((value * scale * 1000).rounded()))
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// The default as `--help` shows it, in the flag's own spelling: `500ms`, `10s`, `5m`, `1h`.
    var defaultValueDescription: String { Self.spelling(of: duration) }

    /// `duration` in the largest unit that writes it whole (`1h`, `5m`, `10s`), else milliseconds.
    static func spelling(of duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        for (suffix, factor) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000)] where milliseconds > 0 && milliseconds % factor == 0 {
            return "\(milliseconds / factor)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}
