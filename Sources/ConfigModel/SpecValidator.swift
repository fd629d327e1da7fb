/// A field written in a document that this node does not act on, and where it is written.
public struct IgnoredFieldUse: Sendable, Hashable, Codable {
    /// The path from the document's root, e.g. `spec.resources`, `spec.endpoint.type`, `spec.env[0].valueFrom`.
    public var path: String
    /// Where its value starts.
    public var mark: SourceMark

    /// Creates a use.
    public init(path: String, mark: SourceMark) {
        self.path = path
        self.mark = mark
    }
}

/// Checks a spec against `SpecFields` (types, enums, bounds, patterns, required fields, unknown
/// fields) and records which cluster fields and which node fields it sets.
///
/// A null value (`key:` with nothing after it, or with only commented-out list items) is "not set",
/// as the API server reads it: it is neither checked nor recorded.
struct SpecValidator {
    /// Cluster fields written (the outermost cluster path of each); `sortedClusterFields` in file order.
    var clusterFields: [IgnoredFieldUse] = []
    /// `clusterFields` in file order.
    var sortedClusterFields: [IgnoredFieldUse] { clusterFields.sorted { ($0.mark.line, $0.mark.column) < ($1.mark.line, $1.mark.column) } }
    /// Node fields written (dotted paths without `spec.` or list indexes, e.g. `ropeScaling.type`).
    var nodeFields: Set<String> = []

    /// Checks `node` as a value of `type` at `path` (`spec.x.y`), reporting errors into `reader`.
    /// - Parameters:
    ///   - entry: `Model "m"` or `InferenceService "s"`, the prefix of every error's field.
    ///   - fieldClass: the class of the field that holds `node`.
    ///
    /// Long on purpose: one `switch` over `FieldType`, each case the CRD's rule for that type.
    mutating func check(_ node: YAMLNode, _ type: FieldType, path: String, schemaPath: String, entry: String, fieldClass: FieldClass, reader: inout FieldReader)
    {
        let label = "\(entry) \(path)"
        switch type {
        case .string(let pattern, let minLength, let maxLength, let expected):
            guard let text = reader.string(node, label) else { return }
            if let minLength, text.count < minLength {
                reader.fail(node, label, "expected at least \(minLength) character(s), found \"\(text)\"")
            } else if let maxLength, text.count > maxLength {
                reader.fail(node, label, "expected at most \(maxLength) characters, found \(text.count)")
            } else if let pattern, !Self.matches(text, pattern) {
                if let expected {
                    reader.fail(node, label, "expected \(expected), found \"\(text)\"")
                } else {
                    reader.fail(node, label, "\"\(text)\" does not match the CRD's pattern \(pattern)")
                }
            }
        case .integer(let range):
            _ = reader.int(node, label, in: range)
        case .number(let range):
            guard let value = reader.number(node, label) else { return }
            if let range, !range.contains(value) {
                reader.fail(
                    node, label, "expected a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)), found \(Self.format(value))")
            }
        case .boolean:
            _ = reader.bool(node, label)
        case .enumeration(let values, let noun):
            guard let text = reader.string(node, label) else { return }
            if !values.contains(text) {
                reader.fail(node, label, "unknown \(noun) \"\(text)\"\(Suggestion.hint(for: text, in: values)) (known: \(values.joined(separator: ", ")))")
            }
        case .integerEnumeration(let values):
            guard let v = reader.int(node, label, in: Int(Int32.min)...Int(Int32.max)) else { return }
            if !values.contains(v) {
                reader.fail(node, label, "expected one of \(values.map(String.init).joined(separator: ", ")), found \(v)")
            }
        case .list(let item, let maxItems):
            guard case .sequence(let items) = node.value else {
                reader.fail(node, label, "expected a list, found \(node.kindDescription)")
                return
            }
            if let maxItems, items.count > maxItems {
                reader.fail(node, label, "expected at most \(maxItems) items, found \(items.count)")
            }
            for (i, element) in items.enumerated() {
                check(element, item, path: "\(path)[\(i)]", schemaPath: schemaPath, entry: entry, fieldClass: fieldClass, reader: &reader)
            }
        case .object(let fields):
            guard let map = reader.fields(node, label, allowed: fields.map(\.name)) else { return }
            for field in fields {
                let value = map[field.name]
                guard let value, !value.isNull else {
                    if field.required {
                        let hint = ["source": " (a path, or a file:// URL)", "modelRef": " (the name of a Model in the same namespace)"][field.name] ?? ""
                        reader.fail(node, "\(label).\(field.name)", "missing required field \"\(field.name)\"\(hint)")
                    }
                    continue
                }
                let childPath = "\(path).\(field.name)"
                let childSchema = schemaPath.isEmpty ? field.name : "\(schemaPath).\(field.name)"
                if field.fieldClass == .cluster && fieldClass != .cluster {
                    clusterFields.append(IgnoredFieldUse(path: childPath, mark: value.mark))
                }
                if field.fieldClass == .node { nodeFields.insert(childSchema) }
                check(
                    value, field.type, path: childPath, schemaPath: childSchema, entry: entry,
                    fieldClass: fieldClass == .cluster ? .cluster : field.fieldClass, reader: &reader)
            }
        case .stringMap:
            reader.stringMap(node, label)
        case .kubernetes(let typeName):
            guard case .mapping = node.value else {
                reader.fail(node, label, "expected a mapping (a Kubernetes \(typeName)), found \(node.kindDescription)")
                return
            }
        }
    }

    /// True when `pattern` is found in `text` (JSON Schema and the API server search, they do not
    /// anchor). A pattern Swift cannot compile never rejects.
    static func matches(_ text: String, _ pattern: String) -> Bool {
        if let answer = PatternMatch.match(text, pattern) { return answer }
        guard let regex = try? Regex(pattern) else { return true }
        return text.firstMatch(of: regex) != nil
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
