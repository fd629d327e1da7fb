import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Renders an `Encodable` value as block-style YAML (for `metal-agent status -o yaml`): maps with
/// sorted keys, sequences with `- `, and strings quoted whenever a plain scalar could be read as
/// something else (a number, a boolean, null, or text with YAML indicators), so that reading the YAML
/// back gives the same JSON value.
public enum YAMLRenderer {
    /// YAML text of `value`, ending with a line break.
    /// - Throws: encoding errors.
    public static func render<T: Encodable>(_ value: T) throws -> String {
        let data = try JSONEncoder().encode(value)
        let tree = try JSONDecoder().decode(Value.self, from: data)
        var out = ""
        switch tree {
        case .object(let m) where !m.isEmpty: emitMembers(m, indent: 0, into: &out)
        case .array(let a) where !a.isEmpty: emitItems(a, indent: 0, into: &out)
        default: out = tree.scalar + "\n"
        }
        return out
    }

    /// A decoded JSON value.
    private enum Value: Decodable {
        case null
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let i = try? c.decode(Int64.self) {
                self = .int(i)
            } else if let d = try? c.decode(Double.self) {
                self = .double(d)
            } else if let s = try? c.decode(String.self) {
                self = .string(s)
            } else if let a = try? c.decode([Value].self) {
                self = .array(a)
            } else {
                self = .object(try c.decode([String: Value].self))
            }
        }

        /// The value on one line (empty collections as `[]` and `{}`).
        var scalar: String {
            switch self {
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .int(let i): return String(i)
            case .double(let d): return String(d)
            case .string(let s): return YAMLRenderer.scalar(s)
            case .array: return "[]"
            case .object: return "{}"
            }
        }

        var isBlock: Bool {
            switch self {
            case .array(let a): return !a.isEmpty
            case .object(let m): return !m.isEmpty
            default: return false
            }
        }
    }

    private static func emitMembers(_ members: [String: Value], indent: Int, into out: inout String) {
        let pad = String(repeating: "  ", count: indent)
        for key in members.keys.sorted() {
            let value = members[key]!
            out += pad + scalar(key) + ":"
            emitChild(value, indent: indent + 1, into: &out)
        }
    }

    private static func emitItems(_ items: [Value], indent: Int, into out: inout String) {
        let pad = String(repeating: "  ", count: indent)
        for item in items {
            out += pad + "-"
            emitChild(item, indent: indent + 1, into: &out)
        }
    }

    private static func emitChild(_ value: Value, indent: Int, into out: inout String) {
        guard value.isBlock else {
            out += " " + value.scalar + "\n"
            return
        }
        out += "\n"
        switch value {
        case .object(let m): emitMembers(m, indent: indent, into: &out)
        case .array(let a): emitItems(a, indent: indent, into: &out)
        default: break
        }
    }

    /// A string as a plain scalar when that reads back as the same string, else double-quoted (JSON escapes).
    static func scalar(_ text: String) -> String {
        let reserved: Set<String> = [
            "null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE",
            "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
        ]
        let indicators = Set("-?:,[]{}#&*!|>'\"%@` ".unicodeScalars)
        let needsQuotes =
            text.isEmpty || reserved.contains(text)
            || Double(text) != nil || text.hasPrefix("0x") || text.hasPrefix("0o") || text.hasPrefix(".")
            || text.unicodeScalars.first.map { indicators.contains($0) } ?? true
            || text.hasSuffix(" ") || text.hasSuffix(":") || text.contains(": ") || text.contains(" #")
            || text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
        guard needsQuotes else { return text }
        var quoted = "\""
        for s in text.unicodeScalars {
            switch s {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            case "\r": quoted += "\\r"
            default:
                if s.value < 0x20 || s.value == 0x7F { quoted += "\\u" + TextFormat.upperHex(s.value, width: 4) } else { quoted.unicodeScalars.append(s) }
            }
        }
        return quoted + "\""
    }
}
