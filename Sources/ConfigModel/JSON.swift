/// A JSON value with ordered object members, rendered deterministically.
indirect enum JSON {
    case string(String)
    case int(Int)
    case number(Double)
    case bool(Bool)
    case array([JSON])
    case object([(String, JSON)])

    /// Adds members to an object (other values are returned unchanged).
    func merging(_ members: [(String, JSON)]) -> JSON {
        guard case .object(let existing) = self else { return self }
        return .object(members.filter { m in m.0 == "description" } + existing + members.filter { m in m.0 != "description" })
    }

    /// Short values on one line; objects and arrays that do not fit on 120 columns one member a line.
    func render(indent: Int) -> String {
        let flat = renderFlat()
        if flat.count + indent <= 120 { return flat }
        let pad = String(repeating: " ", count: indent + 2)
        let end = String(repeating: " ", count: indent)
        switch self {
        case .array(let items):
            return "[\n" + items.map { pad + $0.render(indent: indent + 2) }.joined(separator: ",\n") + "\n" + end + "]"
        case .object(let members):
            return "{\n" + members.map { pad + JSON.quote($0.0) + ": " + $0.1.render(indent: indent + 2) }.joined(separator: ",\n") + "\n" + end + "}"
        default:
            return flat
        }
    }

    func renderFlat() -> String {
        switch self {
        case .string(let s): return JSON.quote(s)
        case .int(let i): return String(i)
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        case .array(let items): return "[" + items.map { $0.renderFlat() }.joined(separator: ", ") + "]"
        case .object(let members): return "{" + members.map { JSON.quote($0.0) + ": " + $0.1.renderFlat() }.joined(separator: ", ") + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
