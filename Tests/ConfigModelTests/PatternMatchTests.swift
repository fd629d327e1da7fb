import Testing

@testable import ConfigModel

/// `PatternMatch` answers as `Regex` does for the patterns it checks directly.
@Suite struct PatternMatchTests {
    /// A fixed-seed generator (SplitMix64): the same strings on every run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let edgeCases = [
        "", "/", "//", "/a", "/a b", "/ ", "~", "~/", "~/a", "~a", "~/a b", ".", "./", "../", ".../x", "./a", "../a", "./ ",
        "a", "ab", "a/b.gguf", "a b", "-a", "_a", "a_-./", "http://", "https://x", "http:/x", "hf://o/r", "s3://b", "pvc://c/m",
        "file:///m", "ftp://x", "HTTP://x", "0", "00", "1.", "1.5", ".5", "1.2.3", "12", "a\t", "\t/a", "/a\u{0B}", "~/\u{0C}",
        String(repeating: "a", count: 64), String(repeating: "F", count: 64), String(repeating: "0", count: 63),
        String(repeating: "g", count: 64), String(repeating: "e", count: 65),
    ]

    @Test(arguments: [PatternMatch.source, PatternMatch.sha256, PatternMatch.decimal])
    func answersAsRegexDoes(pattern: String) throws {
        let regex = try Regex(pattern)
        var random = Seeded(state: 12)
        let alphabet = Array("htpsfilevc3:/.~-_aZ09eF \t\u{0B}\u{0C}x#")
        let prefixes = ["", "/", "./", "../", "~", "~/", "http://", "hf://", "s3:/", "1", "1.", "a"]
        var texts = Self.edgeCases
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &random)
            let body = String((0..<length).map { _ in alphabet.randomElement(using: &random)! })
            texts.append(prefixes.randomElement(using: &random)! + body)
        }
        for _ in 0..<200 {
            let hex = Array("0123456789abcdefABCDEFg")
            texts.append(String((0..<Int.random(in: 63...65, using: &random)).map { _ in hex.randomElement(using: &random)! }))
        }
        var mismatches: Set<String> = []
        for text in texts {
            let direct = try #require(PatternMatch.match(text, pattern), "no direct answer for \(text.debugDescription)")
            if direct != (text.firstMatch(of: regex) != nil) { mismatches.insert(text.debugDescription) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
    }

    @Test func textOutsideASCIIWithoutLineBreaksAndOtherPatternsGoToRegex() {
        #expect(PatternMatch.match("/modèle.gguf", PatternMatch.source) == nil)
        #expect(PatternMatch.match("/a\n", PatternMatch.source) == nil)
        #expect(PatternMatch.match("/a\r", PatternMatch.source) == nil)
        #expect(PatternMatch.match("28d", "^[0-9]+[mhdw]$") == nil)
        // The validator still answers them (by Regex).
        #expect(SpecValidator.matches("/modèle.gguf", PatternMatch.source))
        #expect(!SpecValidator.matches("/a b\n", PatternMatch.source))
        #expect(SpecValidator.matches("28d", "^[0-9]+[mhdw]$"))
    }
}
