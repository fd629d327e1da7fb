/// Reads typed fields out of `YAMLNode`s with exact type rules, collecting every error instead of
/// stopping at the first.
///
/// Type rules (as Kubernetes applies them, `KubernetesScalar`): a quoted scalar is a string unless a
/// tag says otherwise; integers and booleans are plain scalars in go-yaml's YAML 1.1 forms (`0x200`,
/// `1_024`, `yes`, `off`); plain scalars that read as numbers, `true`/`false` or null are not strings.
struct FieldReader {
    let file: String
    private(set) var errors: [ConfigError] = []

    init(file: String) {
        self.file = file
    }

    mutating func fail(_ node: YAMLNode, _ field: String, _ message: String) {
        errors.append(ConfigError(file: file, mark: node.mark, field: field, message: message))
    }

    /// Replaces a recorded error (to add a hint to it).
    mutating func replace(at index: Int, with error: ConfigError) {
        errors[index] = error
    }

    mutating func fail(at mark: SourceMark, _ field: String, _ message: String) {
        errors.append(ConfigError(file: file, mark: mark, field: field, message: message))
    }

    /// The fields of a mapping node, checked against `allowed`: unknown and duplicate keys are errors.
    /// Returns nil (after recording an error) when the node is not a mapping.
    mutating func fields(_ node: YAMLNode, _ field: String, allowed: [String]) -> [String: YAMLNode]? {
        guard case .mapping(let pairs) = node.value else {
            fail(node, field, "expected a mapping, found \(node.kindDescription)")
            return nil
        }
        var result: [String: YAMLNode] = [:]
        for pair in pairs {
            guard case .scalar(let key, _) = pair.key.value else {
                fail(pair.key, field, "expected a field name, found \(pair.key.kindDescription)")
                continue
            }
            let path = field.isEmpty ? key : "\(field).\(key)"
            if result[key] != nil {
                fail(pair.key, path, "duplicate key \"\(key)\" in one mapping")
                continue
            }
            guard allowed.contains(key) else {
                let known = allowed.joined(separator: ", ")
                // A name that means something elsewhere (another kind's field) is never "corrected" into
                // a field of another meaning: `tolerations` on a Model suggests nothing.
                let hint = SpecFields.allNames.contains(key) ? "" : Suggestion.hint(for: key, in: allowed)
                fail(pair.key, path, "unknown field \"\(key)\"\(hint) (known: \(known))")
                continue
            }
            result[key] = pair.value
        }
        return result
    }

    /// A string scalar. Null, numbers, booleans, lists and mappings are errors.
    mutating func string(_ node: YAMLNode, _ field: String) -> String? {
        guard case .scalar(let text, let style) = node.value, !node.isNull else {
            fail(node, field, "expected a string, found \(node.kindDescription)")
            return nil
        }
        if style == .plain, node.tag == nil, Self.isNonStringPlain(text) {
            fail(node, field, "expected a string, found \(node.kindDescription); quote it to make it a string")
            return nil
        }
        return text
    }

    /// An integer within `range` (`KubernetesScalar.integer`).
    mutating func int(_ node: YAMLNode, _ field: String, in range: ClosedRange<Int>) -> Int? {
        if case .scalar(let text, .plain) = node.value, Int(text) == nil,
            text.drop(while: { $0 == "-" || $0 == "+" }).allSatisfy(\.isASCII) && text.contains(where: \.isNumber)
                && text.drop(while: { $0 == "-" || $0 == "+" }).allSatisfy(\.isNumber)
        {
            fail(node, field, "expected an integer from \(range.lowerBound) to \(range.upperBound), found \(text)")
            return nil
        }
        guard let value = KubernetesScalar.integer(node) else {
            fail(node, field, "expected an integer, found \(node.kindDescription)")
            return nil
        }
        guard range.contains(value) else {
            fail(node, field, "expected an integer from \(range.lowerBound) to \(range.upperBound), found \(value)")
            return nil
        }
        return value
    }

    /// A plain number (integer or decimal, YAML 1.2 core schema); quoted numbers are strings.
    mutating func number(_ node: YAMLNode, _ field: String) -> Double? {
        if case .scalar(let text, .plain) = node.value, !node.isNull,
            node.tag == nil || node.tag == "tag:yaml.org,2002:float" || node.tag == "tag:yaml.org,2002:int",
            let value = Double(text), value.isFinite
        {
            return value
        }
        fail(node, field, "expected a number, found \(node.kindDescription)")
        return nil
    }

    /// A boolean (`KubernetesScalar.boolean`: `true`, `false`, and YAML 1.1's `yes`, `no`, `on`, `off`).
    mutating func bool(_ node: YAMLNode, _ field: String) -> Bool? {
        if let value = KubernetesScalar.boolean(node) { return value }
        fail(node, field, "expected true or false, found \(node.kindDescription)")
        return nil
    }

    /// A list of strings.
    mutating func stringList(_ node: YAMLNode, _ field: String) -> [String]? {
        guard case .sequence(let items) = node.value else {
            fail(node, field, "expected a list of strings, found \(node.kindDescription)")
            return nil
        }
        var result: [String] = []
        var ok = true
        for (i, item) in items.enumerated() {
            if let s = string(item, "\(field)[\(i)]") { result.append(s) } else { ok = false }
        }
        return ok ? result : nil
    }

    /// A mapping of string to string (labels, annotations).
    mutating func stringMap(_ node: YAMLNode, _ field: String) {
        guard case .mapping(let pairs) = node.value else {
            fail(node, field, "expected a mapping of strings, found \(node.kindDescription)")
            return
        }
        for pair in pairs {
            if let key = string(pair.key, field) {
                _ = string(pair.value, "\(field).\(key)")
            }
        }
    }

    /// Plain scalars that YAML's core schema reads as something other than a string.
    static func isNonStringPlain(_ text: String) -> Bool {
        if Int(text) != nil || Double(text) != nil { return true }
        return ["true", "false", "True", "False", "TRUE", "FALSE", "null", "Null", "NULL", "~", ".inf", ".nan"].contains(text)
    }
}
