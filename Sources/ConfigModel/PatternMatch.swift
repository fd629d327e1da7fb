/// Direct checks for the CRD patterns every config meets (`Model.spec.source`, `sha256`, `ropeScaling.factor`),
/// so that reading a config does not compile a regular expression per document: Swift's `Regex` parses the
/// pattern at run time and brings in the regex engine's code (about 1.5 MiB of resident memory).
///
/// Each check answers exactly as `Regex(pattern)` searched in the text does, for ASCII text without line
/// breaks (`PatternMatchTests` compares them on generated strings); other text, and every other pattern,
/// goes to `Regex`.
enum PatternMatch {
    /// `Model.spec.source`, LLMKube's CRD: `^(https?|file|pvc|hf|s3)://.*|^/[^\s]+$|^[a-zA-Z0-9][\w\-\.\/]+$|^\.{1,2}/[^\s]+$|^~(/[^\s]*)?$`.
    static let source = "^(https?|file|pvc|hf|s3)://.*|^/[^\\s]+$|^[a-zA-Z0-9][\\w\\-\\.\\/]+$|^\\.{1,2}/[^\\s]+$|^~(/[^\\s]*)?$"
    /// `Model.spec.sha256`: 64 hexadecimal digits.
    static let sha256 = "^[a-fA-F0-9]{64}$"
    /// A decimal number without sign or exponent (`ropeScaling.factor`, SLO objectives).
    static let decimal = "^[0-9]+(\\.[0-9]+)?$"

    /// The answer for `pattern` searched in `text`, or nil when this type has no direct check for that
    /// pattern or that text (non-ASCII, or a line break: `Regex`'s Unicode and anchor rules decide those).
    static func match(_ text: String, _ pattern: String) -> Bool? {
        let bytes = Array(text.utf8)
        guard bytes.allSatisfy({ $0 < 0x80 && $0 != 0x0A && $0 != 0x0D }) else { return nil }
        switch pattern {
        case source: return isSource(bytes)
        case sha256: return bytes.count == 64 && bytes.allSatisfy(isHexDigit)
        case decimal: return isDecimal(bytes[...])
        default: return nil
        }
    }

    private static func isSource(_ s: [UInt8]) -> Bool {
        for scheme in ["http://", "https://", "file://", "pvc://", "hf://", "s3://"] where s.starts(with: scheme.utf8) {
            return true
        }
        let noSpace = { (rest: ArraySlice<UInt8>) in rest.allSatisfy { !isSpace($0) } }
        guard let first = s.first else { return false }
        // ^/[^\s]+$
        if first == UInt8(ascii: "/") && s.count >= 2 && noSpace(s[1...]) { return true }
        // ^[a-zA-Z0-9][\w\-\.\/]+$
        if isAlphanumeric(first) && s.count >= 2
            && s[1...].allSatisfy({
                isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "/")
            })
        {
            return true
        }
        // ^\.{1,2}/[^\s]+$
        for prefix in ["./", "../"] where s.starts(with: prefix.utf8) && s.count > prefix.utf8.count && noSpace(s[prefix.utf8.count...]) {
            return true
        }
        // ^~(/[^\s]*)?$
        if first == UInt8(ascii: "~") && (s.count == 1 || (s[1] == UInt8(ascii: "/") && noSpace(s[2...]))) { return true }
        return false
    }

    private static func isDecimal(_ s: ArraySlice<UInt8>) -> Bool {
        let whole = s.prefix { isDigit($0) }
        guard !whole.isEmpty else { return false }
        let rest = s.dropFirst(whole.count)
        if rest.isEmpty { return true }
        return rest.first == UInt8(ascii: ".") && rest.count >= 2 && rest.dropFirst().allSatisfy(isDigit)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static func isHexDigit(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66) }
    private static func isAlphanumeric(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) }
    /// `\s` for ASCII: space, tab, and the line and page breaks (LF and CR never reach here).
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
}
