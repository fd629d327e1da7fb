import CYaml

/// A YAML syntax error as libyaml reports it, with its position.
public struct YAMLSyntaxError: Error, Sendable, Hashable {
    /// libyaml's description of the problem.
    public var message: String
    /// Where libyaml found it (1-based).
    public var mark: SourceMark
}

/// Thin wrapper over the system libyaml (`yaml-0.1`): bytes in, a list of `YAMLNode` documents out.
///
/// This file is the project's only libyaml binding. libyaml resolves anchors and aliases by sharing
/// nodes; the conversion here copies them, so a budget of `maxNodes` node visits bounds the work an
/// alias bomb ("billion laughs") can cause.
public enum YAMLParser {
    /// Most nodes one file may expand to, counting every alias expansion (a defence against alias bombs).
    public static let maxNodes = 100_000
    /// Deepest nesting accepted (mappings and lists inside each other).
    public static let maxDepth = 64

    /// Parses a YAML stream into its documents, in order. An empty stream gives no documents.
    /// - Throws: `YAMLSyntaxError` for malformed YAML, too many nodes or too deep nesting.
    public static func parse(_ bytes: [UInt8]) throws(YAMLSyntaxError) -> [YAMLNode] {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLSyntaxError(message: "libyaml could not initialise a parser", mark: SourceMark(line: 1, column: 1))
        }
        defer { yaml_parser_delete(&parser) }

        // libyaml keeps a pointer to the input; copy it into memory that lives as long as the parser.
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        defer { input.deallocate() }
        input.initialize(from: bytes, count: bytes.count)
        yaml_parser_set_input_string(&parser, input, bytes.count)

        var documents: [YAMLNode] = []
        var budget = maxNodes
        while true {
            var document = yaml_document_t()
            guard yaml_parser_load(&parser, &document) == 1 else {
                let message = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                var text = message
                if let context = parser.context {
                    text = "\(message) \(String(cString: context))"
                }
                throw YAMLSyntaxError(message: text, mark: mark(parser.problem_mark))
            }
            defer { yaml_document_delete(&document) }
            guard let root = yaml_document_get_root_node(&document) else { break }
            let node = try convert(root, in: &document, budget: &budget, depth: 0)
            documents.append(node)
        }
        return documents
    }

    private static func mark(_ m: yaml_mark_t) -> SourceMark {
        SourceMark(line: Int(m.line) + 1, column: Int(m.column) + 1)
    }

    private static func convert(
        _ node: UnsafeMutablePointer<yaml_node_t>,
        in document: inout yaml_document_t,
        budget: inout Int,
        depth: Int
    ) throws(YAMLSyntaxError) -> YAMLNode {
        let position = mark(node.pointee.start_mark)
        budget -= 1
        guard budget >= 0 else {
            throw YAMLSyntaxError(
                message: "document expands to more than \(maxNodes) nodes (alias bomb?)", mark: position)
        }
        guard depth <= maxDepth else {
            throw YAMLSyntaxError(message: "nesting deeper than \(maxDepth) levels", mark: position)
        }
        // libyaml gives every untagged node its default tag; keep only the others (`!!int`, `!custom`).
        let explicitTag = node.pointee.tag.map { String(cString: $0) }.flatMap { t -> String? in
            defaultTags.contains(t) ? nil : t
        }
        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let scalar = node.pointee.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let style: YAMLNode.ScalarStyle
            switch scalar.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            return YAMLNode(.scalar(text, style), mark: position, tag: explicitTag)
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            var item = node.pointee.data.sequence.items.start
            let top = node.pointee.data.sequence.items.top
            while let current = item, current != top {
                if let child = yaml_document_get_node(&document, current.pointee) {
                    items.append(try convert(child, in: &document, budget: &budget, depth: depth + 1))
                }
                item = current + 1
            }
            return YAMLNode(.sequence(items), mark: position, tag: explicitTag)
        case YAML_MAPPING_NODE:
            var pairs: [YAMLNode.Pair] = []
            var pair = node.pointee.data.mapping.pairs.start
            let top = node.pointee.data.mapping.pairs.top
            while let current = pair, current != top {
                if let k = yaml_document_get_node(&document, current.pointee.key),
                   let v = yaml_document_get_node(&document, current.pointee.value) {
                    let key = try convert(k, in: &document, budget: &budget, depth: depth + 1)
                    let value = try convert(v, in: &document, budget: &budget, depth: depth + 1)
                    pairs.append(YAMLNode.Pair(key: key, value: value))
                }
                pair = current + 1
            }
            return YAMLNode(.mapping(pairs), mark: position, tag: explicitTag)
        default:
            return YAMLNode(.scalar("", .plain), mark: position)
        }
    }

    private static let defaultTags: Set<String> = [
        "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map",
    ]
}
