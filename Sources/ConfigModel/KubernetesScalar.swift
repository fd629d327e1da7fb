/// Plain scalars typed as Kubernetes types them. kubectl and the API server read YAML with go-yaml
/// (through sigs.k8s.io/yaml), which resolves plain scalars by YAML 1.1's rules, so a manifest the
/// cluster accepts means the same here:
/// - booleans: `true`/`false` and `yes`/`no`, `on`/`off`, `y`/`n`, each lowercase, Capitalised or
///   UPPERCASE;
/// - integers: an optional sign, then decimal digits, `0x` hex, `0o` octal or `0b` binary digits;
///   underscores anywhere are ignored (`1_024`); a leading `0` with only octal digits is octal (`010`
///   is 8), with other digits decimal (`08080` is 8080), as go-yaml reads them.
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
