#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A number of bytes written as Kubernetes writes a resource quantity.
public enum ByteQuantity {
    /// Parses a byte quantity as Kubernetes writes one: a plain integer, or a number with a binary suffix
    /// (`Ki`, `Mi`, `Gi`, `Ti`: powers of 1024) or a decimal one (`k`, `M`, `G`, `T`: powers of 1000).
    /// `24Gi` is 25769803776. Returns nil for anything else, zero or negative.
    public static func parse(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [
            ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
            ("k", 1000), ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
        ]
        var number = Substring(text.trimmingBlanks())
        var multiplier: Int64 = 1
        for (suffix, value) in units where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            multiplier = value
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value > 0
        else { return nil }
        let bytes = value * Double(multiplier)
        guard bytes < 9e18 else { return nil }
        return Int64(bytes)
    }
}
