// Small text helpers the agent's modules share, so that none of them needs the full Foundation
// (its Linux build loads ICU and about 9 MiB of resident pages into the agent; FoundationEssentials
// has no `trimmingCharacters`, `padding(toLength:)` or `String(format:)`).

extension StringProtocol {
    /// The text without leading and trailing characters for which `trim` is true.
    package func trimmed(where trim: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !trim($0) }) else { return "" }
        let last = lastIndex(where: { !trim($0) })!
        return String(self[first...last])
    }

    /// The text without leading and trailing blanks: white space that is not a line break (space, tab,
    /// no-break space; what Foundation's `CharacterSet.whitespaces` holds).
    package func trimmingBlanks() -> String { trimmed { $0.isWhitespace && !$0.isNewline } }

    /// The text without leading and trailing white space, line breaks included.
    package func trimmingWhitespace() -> String { trimmed(where: \.isWhitespace) }

    /// The text without leading and trailing characters that occur in `set`.
    package func trimming(charactersIn set: String) -> String { trimmed { set.contains($0) } }

    /// The text followed by spaces up to `width` characters; text already as wide or wider is unchanged.
    package func padded(to width: Int) -> String {
        let text = String(self)
        let count = text.count
        return count >= width ? text : text + String(repeating: " ", count: width - count)
    }
}

/// Number and byte formatting without Foundation's `String(format:)`.
package enum TextFormat {
    /// `value` with exactly `decimals` digits after the point, as `String(format: "%.<decimals>f")`
    /// writes it with glibc: the exact binary value rounded to nearest, a tie to even (`(9.95, 1)` →
    /// `"9.9"`, because 9.95 is stored as 9.9499999999999992895; `(0.25, 1)` → `"0.2"`; `(-0.04, 1)` →
    /// `"-0.0"`). `decimals` is 0 to 9; infinities and NaN are written as `inf`, `-inf` and `nan`.
    package static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        let places = min(max(decimals, 0), 9)
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }  // exact: 10^9 < 2^53
        let magnitude = abs(value)
        let sign = value.sign == .minus ? "-" : ""
        let product = magnitude * scale
        guard product < 9.0e15 else { return sign + String(magnitude) }
        // product is magnitude x scale rounded once; `error` is what that rounding lost, exactly (one fused
        // multiply-add), so a product that lands on a half tells whether the true value was above or below it.
        let error = (-product).addingProduct(magnitude, scale)
        var scaled = product.rounded(.down)
        let rest = product - scaled
        if rest > 0.5 || (rest == 0.5 && (error > 0 || (error == 0 && scaled.truncatingRemainder(dividingBy: 2) == 1))) {
            scaled += 1
        }
        let units = UInt64(scaled)
        let divisor = UInt64(scale)
        let whole = units / divisor
        guard places > 0 else { return sign + String(whole) }
        let fraction = String(units % divisor)
        return sign + String(whole) + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    /// Lowercase hexadecimal, two digits per byte (`[0x0f, 0xa0]` → `"0fa0"`).
    package static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` in uppercase hexadecimal with at least `width` digits (`(0x1b, 4)` → `"001B"`).
    package static func upperHex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `text` with every UTF-8 byte outside RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`)
    /// written as `%XX` (uppercase hex; RFC 3986 section 2.1).
    package static func percentEncoded(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `path` with `.` components, empty components and trailing slashes removed, and each `..` taking
    /// away the component before it (lexically: no symbolic link is read; `..` above `/` stays at `/`).
    /// `"/a/./b/../c/"` → `"/a/c"`; a relative path stays relative (`"a/../../b"` → `"../b"`).
    package static func normalizedPath(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." {
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !absolute {
                    parts.append(part)
                }
            } else {
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }
}

/// Path arithmetic on strings (what `NSString`'s path methods do, without Foundation). Lexical only:
/// nothing is read from the file system.
package enum PathText {
    /// The path without its last component: `"/a/b"` → `"/a"`, `"/a/b/"` → `"/a"`, `"/a"` → `"/"`,
    /// `"a"` → `""` (as `NSString.deletingLastPathComponent`).
    package static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        if slash == trimmed.startIndex { return "/" }
        var parent = trimmed[..<slash]
        while parent.count > 1, parent.hasSuffix("/") { parent = parent.dropLast() }
        return String(parent)
    }

    /// The last component: `"/a/b"` → `"b"`, `"/a/b/"` → `"b"`, `"/"` → `"/"` (as
    /// `NSString.lastPathComponent`).
    package static func lastComponent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard trimmed != "/", let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// `path` and `component` joined by exactly one slash (`"a/"` + `"b"` → `"a/b"`); an empty `path`
    /// gives `component` (as `NSString.appendingPathComponent`).
    package static func join(_ path: String, _ component: String) -> String {
        guard !path.isEmpty else { return component }
        let head = path.hasSuffix("/") ? String(path.dropLast()) : path
        let tail = component.hasPrefix("/") ? String(component.dropFirst()) : component
        return head + "/" + tail
    }
}
