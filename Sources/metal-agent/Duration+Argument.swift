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
}
