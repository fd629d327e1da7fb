/// Plain scalars typed as Kubernetes types them. kubectl and the API server read YAML with go-yaml
/// (through sigs.k8s.io/yaml), which resolves plain scalars by YAML 1.1's rules, so a manifest the
/// cluster accepts means the same here:
/// - booleans: `true`/`false` and `yes`/`no`, `on`/`off`, `y`/`n`, each lowercase, Capitalised or
///   UPPERCASE;
/// - integers: an optional sign, then decimal digits, `0x` hex, `0o` octal or `0b` binary digits;
///   underscores anywhere are ignored (`1_024`); a leading `0` with only octal digits is octal (`010`
///   is 8), with other digits decimal (`08080` is 8080), as go-yaml reads them; a whole number written
///   as a float (`4096.0`, `4e3`) is that integer, as the API server takes it; a scalar that does not
///   start like a number (`_4096`) is a string.
/// A quoted scalar is a string, unless a tag (`!!int "8101"`, `!!bool "true"`) says otherwise.
public enum KubernetesScalar {
    /// The tag `!!int` resolves to.
    public static let intTag = "tag:yaml.org,2002:int"
    /// The tag `!!bool` resolves to.
    public static let boolTag = "tag:yaml.org,2002:bool"

    /// The boolean `text` spells, or nil.
    public static func boolean(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y": true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N": false
        default: nil
        }
    }

    /// The integer `text` spells, or nil (also when it does not fit in `Int`).
    public static func integer(_ text: String) -> Int? {
        // go-yaml reads a scalar as a number only when it starts like one (`_4096` is a string).
        guard let first = text.first, first.isASCII, first.isNumber || first == "-" || first == "+" || first == "." else { return nil }
        if let whole = integer(digitsOf: text) { return whole }
        // A float with nothing after the point (`4096.0`, `4e3`): go-yaml passes it on as that number,
        // and the API server takes a whole number for an integer field.
        guard let value = Double(text.filter { $0 != "_" }), value.isFinite, value == value.rounded(.towardZero),
            abs(value) < 9.0e15, isFloatForm(text.filter { $0 != "_" })
        else { return nil }
        return Int(value)
    }

    /// go-yaml's YAML 1.1 float form: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
    private static func isFloatForm(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let mantissa = rest.prefix { $0 != "e" && $0 != "E" }
        let exponent = rest.dropFirst(mantissa.count)
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits: (Substring) -> Bool = { $0.allSatisfy { $0.isASCII && $0.isNumber } }
        let mantissaOK =
            parts.count == 1
            ? !parts[0].isEmpty && digits(parts[0])
            : (parts[0].isEmpty ? !parts[1].isEmpty && digits(parts[1]) : digits(parts[0]) && digits(parts[1]))
        guard mantissaOK else { return false }
        guard !exponent.isEmpty else { return true }
        var power = exponent.dropFirst()
        if power.first == "-" || power.first == "+" { power = power.dropFirst() }
        return !power.isEmpty && digits(power)
    }

    private static func integer(digitsOf text: String) -> Int? {
        var digits = Substring(text.filter { $0 != "_" })
        var negative = false
        if let sign = digits.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        let prefix = digits.prefix(2).lowercased()
        if prefix == "0x" || prefix == "0o" || prefix == "0b" {
            radix = prefix == "0x" ? 16 : prefix == "0o" ? 8 : 2
            digits = digits.dropFirst(2)
        } else if digits.count > 1, digits.first == "0", digits.allSatisfy({ ("0"..."7").contains($0) }) {
            radix = 8
        }
        // Int(_:radix:) takes a sign of its own: the digits must start with a digit.
        guard let first = digits.first, first.isHexDigit, let magnitude = Int(digits, radix: radix) else { return nil }
        return negative ? (magnitude == 0 ? 0 : -magnitude) : magnitude
    }

    /// The integer a scalar node holds: plain, or of any style when tagged `!!int`; nil for null.
    public static func integer(_ node: YAMLNode) -> Int? {
        guard case .scalar(let text, let style) = node.value, style == .plain || node.tag == intTag else { return nil }
        guard node.tag == nil || node.tag == intTag, !node.isNull else { return nil }
        return integer(text)
    }

    /// The boolean a scalar node holds: plain, or of any style when tagged `!!bool`.
    public static func boolean(_ node: YAMLNode) -> Bool? {
        guard case .scalar(let text, let style) = node.value, style == .plain || node.tag == boolTag else { return nil }
        guard node.tag == nil || node.tag == boolTag else { return nil }
        return boolean(text)
    }
}
