import ConfigModel
import Foundation
import Testing

/// The text helpers that stand in for Foundation's (the agent links FoundationEssentials only), each
/// checked against what Foundation itself answers where Foundation has the same operation.
@Suite struct TextTests {
    @Test func fixedMatchesPrintf() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 0.04, -0.04, 0.05, 0.15, 0.25, 1.25, 2.35, 9.95, 12.5, 99.99, 1023.96, 0.125, 2.675, 1e6 + 0.06]
        for _ in 0..<20_000 {
            // Random values, and values on or near a tie of the last digit kept.
            let base = Double.random(in: -1e6...1e6, using: &generator)
            values.append(base)
            values.append((base * 100).rounded() / 100 + 0.005)
            values.append(Double(Int.random(in: -100_000...100_000, using: &generator)) / 8)
        }
        for decimals in [0, 1, 2, 3] {
            for value in values {
                let printf = String(format: "%.\(decimals)f", value)
                let ours = TextFormat.fixed(value, decimals: decimals)
                if ours != printf {
                    Issue.record("\(value) with \(decimals) decimals: \(ours), printf \(printf)")
                    return
                }
            }
        }
    }

    @Test func fixedEdges() {
        #expect(TextFormat.fixed(9.95, decimals: 1) == "9.9")
        #expect(TextFormat.fixed(0.25, decimals: 1) == "0.2")
        #expect(TextFormat.fixed(0.75, decimals: 1) == "0.8")
        #expect(TextFormat.fixed(7, decimals: 0) == "7")
        #expect(TextFormat.fixed(0.001, decimals: 3) == "0.001")
        #expect(TextFormat.fixed(.infinity, decimals: 1) == "inf")
        #expect(TextFormat.fixed(-.infinity, decimals: 1) == "-inf")
        #expect(TextFormat.fixed(.nan, decimals: 1) == "nan")
    }

    @Test func hexAndPercentEncoding() {
        #expect(TextFormat.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(TextFormat.upperHex(0x1b, width: 4) == "001B")
        #expect(TextFormat.upperHex(0x1F600, width: 4) == "1F600")
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        for text in ["Qwen/Qwen3-0.6B", "a b+c%d", "mlx-community/Llama-3.2-1B-Instruct-4bit", "ünï/cödé ✓", "~._-", ""] {
            #expect(TextFormat.percentEncoded(text) == text.addingPercentEncoding(withAllowedCharacters: unreserved))
        }
    }

    @Test func trimmingMatchesFoundation() {
        for text in ["  a b  ", "\t\u{00A0}x\t", "\n x \n", "", "   ", "[::1]", "[]", "x"] {
            #expect(text.trimmingBlanks() == text.trimmingCharacters(in: .whitespaces), "\(text.debugDescription)")
            #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.debugDescription)")
            #expect(text.trimming(charactersIn: "[]") == text.trimmingCharacters(in: CharacterSet(charactersIn: "[]")))
        }
    }

    @Test func paddingNeverCuts() {
        #expect("ab".padded(to: 4) == "ab  ")
        #expect("abcdef".padded(to: 4) == "abcdef")
        #expect("é".padded(to: 2) == "é ")
    }

    @Test func pathsMatchNSString() {
        // (Foundation's own traps on "" and "a" with Swift 6.3.1: swift-corelibs-foundation,
        // String._startOfLastPathComponent.)
        #expect(PathText.parent(of: "a") == "")
        #expect(PathText.lastComponent(of: "a") == "a")
        #expect(PathText.parent(of: "") == "")
        #expect(PathText.lastComponent(of: "") == "")
        #expect(PathText.parent(of: "/a//b") == "/a")
        #expect(PathText.parent(of: "/a/b//") == "/a")
        #expect(PathText.lastComponent(of: "/a/b//") == "b")
        for path in ["/a/b", "/a/b/", "/a", "/", "a/b", "/srv/models/m.gguf"] {
            #expect(PathText.parent(of: path) == (path as NSString).deletingLastPathComponent, "\(path.debugDescription)")
            #expect(PathText.lastComponent(of: path) == (path as NSString).lastPathComponent, "\(path.debugDescription)")
        }
        for (path, component) in [("/a", "b.log"), ("/a/", "b.log"), ("a", "b"), ("", "b"), ("/", "b")] {
            #expect(PathText.join(path, component) == (path as NSString).appendingPathComponent(component))
        }
    }

    @Test func normalizedPathsAreLexical() {
        #expect(TextFormat.normalizedPath("/etc/ma/./models/../m.gguf") == "/etc/ma/m.gguf")
        #expect(TextFormat.normalizedPath("/a//b/") == "/a/b")
        #expect(TextFormat.normalizedPath("/../x") == "/x")
        #expect(TextFormat.normalizedPath("a/../../b") == "../b")
        #expect(TextFormat.normalizedPath("./") == ".")
        #expect(TextFormat.normalizedPath("/") == "/")
    }
}
