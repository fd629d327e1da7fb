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

/// A port range flag value written `LOW-HIGH` (`30000-32767`), both TCP ports (1–65535), LOW <= HIGH.
/// A bad value is refused with the reason (`Run.validate()`), not ArgumentParser's bare "is invalid".
struct PortRangeArgument: ExpressibleByArgument, Sendable {
    var range: ClosedRange<Int>?
    var problem: String?

    init?(argument: String) {
        let parts = argument.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]) else {
            problem = "--port-range \(argument): expected LOW-HIGH, two port numbers such as 30000-32767"
            return
        }
        guard (1...65535).contains(low), (1...65535).contains(high) else {
            problem = "--port-range \(argument): ports are 1 to 65535"
            return
        }
        guard low <= high else {
            problem = "--port-range \(argument): the first port must not be above the second"
            return
        }
        range = low...high
    }

    init(_ range: ClosedRange<Int>) { self.range = range }

    static var defaultCompletionKind: CompletionKind { .default }

    var defaultValueDescription: String { range.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "" }
}
