import ArgumentParser

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
