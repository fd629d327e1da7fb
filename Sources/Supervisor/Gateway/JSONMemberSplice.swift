/// Replaces one top-level member's value in a JSON object's text and keeps every other byte as it was:
/// numbers keep their digits (`0.7` stays `0.7`), keys their order, strings their escapes. The gateway
/// uses it to point an mlx_lm.server request's `model` at the folder the entry serves.
enum JSONMemberSplice {
    /// `text` with the value of every top-level member named `key` replaced by the JSON string `value`,
    /// or with `"key":"value"` added first when the object has no such member.
    /// Returns nil when `text` is not a JSON object (RFC 8259 shapes; only as strict as finding members
    /// needs: keys must be valid strings, while a malformed number, literal or string inside a value, a
    /// lone surrogate escape or invalid UTF-8 say, is passed through for the runtime to judge).
    static func replacingString(_ key: String, with value: String, in text: [UInt8]) -> [UInt8]? {
        var scanner = Scanner(bytes: text)
        guard let members = scanner.topLevelMembers() else { return nil }
        let encoded = encode(value)
        let matches = members.filter { $0.key == key }
        guard !matches.isEmpty else {
            let open = scanner.objectStart
            var out = Array(text[..<open])
            out += encode(key) + [UInt8(ascii: ":")] + encoded
            if !members.isEmpty { out.append(UInt8(ascii: ",")) }
            out += text[open...]
            return out
        }
        var out: [UInt8] = []
        var at = 0
        for match in matches {
            out += text[at..<match.value.lowerBound]
            out += encoded
            at = match.value.upperBound
        }
        out += text[at...]
        return out
    }

    /// A JSON string literal for `text` (quotes, backslashes and control characters escaped).
    static func encode(_ text: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case UInt8(ascii: "\n"): out += Array("\\n".utf8)
            case UInt8(ascii: "\r"): out += Array("\\r".utf8)
            case UInt8(ascii: "\t"): out += Array("\\t".utf8)
            case 0..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [digits[Int(byte >> 4)], digits[Int(byte & 0xf)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private struct Member {
        var key: String
        var value: Range<Int>
    }

    private struct Scanner {
        let bytes: [UInt8]
        var i = 0
        /// The index just after the object's `{`.
        var objectStart = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func topLevelMembers() -> [Member]? {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return nil }
            objectStart = i
            var members: [Member] = []
            skipSpace()
            if !take(UInt8(ascii: "}")) {
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard take(UInt8(ascii: ":")) else { return nil }
                    skipSpace()
                    let start = i
                    guard skipValue(depth: 0) else { return nil }
                    members.append(Member(key: key, value: start..<i))
                    skipSpace()
                    if take(UInt8(ascii: ",")) { continue }
                    guard take(UInt8(ascii: "}")) else { return nil }
                    break
                }
            }
            skipSpace()
            return i == bytes.count ? members : nil
        }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
            return true
        }

        /// A string literal at `i`, decoded; nil when there is none or it is not valid.
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() -> Bool {
                guard !raw.isEmpty else { return true }
                guard let text = String(validating: raw, as: UTF8.self) else { return false }
                scalars.append(contentsOf: text.unicodeScalars)
                raw.removeAll()
                return true
            }
            while i < bytes.count {
                let byte = bytes[i]
                i += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return flush() ? String(scalars) : nil
                case UInt8(ascii: "\\"):
                    guard flush(), i < bytes.count else { return nil }
                    let escape = bytes[i]
                    i += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(Unicode.Scalar(escape))
                    case UInt8(ascii: "b"): scalars.append("\u{8}")
                    case UInt8(ascii: "f"): scalars.append("\u{c}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        guard var unit = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(unit), take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")) {
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(unit) else { return nil }
                        scalars.append(scalar)
                    default: return nil
                    }
                case 0..<0x20:
                    return nil
                default:
                    raw.append(byte)
                }
            }
            return nil
        }

        /// Moves past a string literal without decoding it: to the quote that no backslash escapes.
        mutating func skipString() -> Bool {
            guard take(UInt8(ascii: "\"")) else { return false }
            while i < bytes.count {
                let byte = bytes[i]
                i += 1
                if byte == UInt8(ascii: "\\") {
                    i += 1
                } else if byte == UInt8(ascii: "\"") {
                    return true
                }
            }
            return false
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16)
            else { return nil }
            i += 4
            return value
        }

        /// Moves past one value: a string, an object or array (nested up to 512 deep), or a number or
        /// literal (the bytes up to the next delimiter).
        mutating func skipValue(depth: Int) -> Bool {
            guard i < bytes.count, depth < 512 else { return false }
            switch bytes[i] {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let close = bytes[i] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                let isObject = close == UInt8(ascii: "}")
                i += 1
                skipSpace()
                if take(close) { return true }
                while true {
                    skipSpace()
                    if isObject {
                        guard skipString() else { return false }
                        skipSpace()
                        guard take(UInt8(ascii: ":")) else { return false }
                        skipSpace()
                    }
                    guard skipValue(depth: depth + 1) else { return false }
                    skipSpace()
                    if take(UInt8(ascii: ",")) { continue }
                    return take(close)
                }
            default:
                let start = i
                while i < bytes.count, !",}] \t\r\n".utf8.contains(bytes[i]) { i += 1 }
                return i > start
            }
        }
    }
}
