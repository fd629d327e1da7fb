import CYaml

/// A YAML syntax error as libyaml reports it, or a limit this loader enforces, with its position.
public struct YAMLSyntaxError: Error, Sendable, Hashable {
    /// libyaml's description of the problem, or which limit was hit.
    public var message: String
    /// Where it was found (1-based).
    public var mark: SourceMark
}

/// Thin wrapper over the system libyaml (`yaml-0.1`): bytes in, a list of `YAMLNode` documents out.
///
/// This file is the project's only libyaml binding. It reads libyaml's event stream
/// (`yaml_parser_parse`) and builds the tree itself, so limits apply while parsing, before any work
/// is wasted: nesting deeper than `maxDepth` stops at once (libyaml's own document loader takes minutes
/// on 200,000 nested `[`), and every node, alias expansions included, counts against `maxNodes`, which
/// defeats alias bombs ("billion laughs").
public enum YAMLParser {
    /// Most nodes one file may expand to, counting every alias expansion (a defence against alias bombs).
    public static let maxNodes = 100_000
    /// Deepest nesting accepted (mappings and lists inside each other).
    public static let maxDepth = 64

    /// A collection being read. A struct mutated in place on the stack: an enum with the array as an
    /// associated value copied the whole array at every append (a 99,000-item list took 120 s).
    private struct Open {
        var isSequence: Bool
        var items: [YAMLNode] = []
        var pairs: [YAMLNode.Pair] = []
        /// A mapping's key waiting for its value.
        var key: YAMLNode? = nil
        var mark: SourceMark
        var anchor: String?
        var tag: String?
    }

    /// Parses a YAML stream into its documents, in order. An empty stream gives no documents; an
    /// explicitly empty document (`---` alone) gives a null scalar.
    ///
    /// A byte-order mark (U+FEFF) is accepted where YAML 1.2 allows one: at the start of the stream and
    /// at the start of every document (before its `---`, or after the previous document's `...`), as
    /// when files saved on Windows are joined with `cat` (YAML 1.2.2, 9.1.1 and 9.2 `l-document-prefix`).
    /// Anywhere else it is an error that names it. An error caused by a tab in indentation says so.
    /// - Throws: `YAMLSyntaxError` for malformed YAML, a byte-order mark inside a document, an undefined
    ///   alias, too many nodes or too deep nesting.
    public static func parse(_ bytes: [UInt8]) throws(YAMLSyntaxError) -> [YAMLNode] {
        let source = SourceText(try SourceText.removingDocumentPrefixBOMs(bytes))
        do {
            return try parseEvents(source.bytes, lineOffset: 0)
                .documents
        } catch {
            throw source.explainingTabs(error)
        }
    }

    /// A part of a stream that holds whole documents: from one `---` line (a line starting with `---`
    /// and a space, a tab or its end) to the next, or the lines before the first. Every document of the
    /// stream lies in one chunk, and a chunk parses alone (`parseChunk`) to the documents the whole stream
    /// gives for its lines: in YAML (1.1 as libyaml reads it, and 1.2) `---` at the start of a line
    /// always starts a document or is an error (inside a quoted scalar or a flow collection), block
    /// scalars end at it (their indentation is at least 1), and documents share no anchors. Directives
    /// are the exception, so a stream with one is never cut (`chunks(_:)`).
    public struct Chunk: Sendable {
        /// The line the chunk starts on (1-based).
        public var firstLine: Int
        /// Its bytes, line breaks included.
        public var bytes: ArraySlice<UInt8>
    }

    /// `bytes` cut into chunks, in order; nil when the stream must be parsed whole: UTF-16, a `%`
    /// directive line, or a line break libyaml counts that this cut does not (NEL, U+2028, U+2029).
    public static func chunks(_ bytes: [UInt8]) -> [Chunk]? {
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) { return nil }
        var chunks: [Chunk] = []
        var chunkStart = 0
        var chunkLine = 1
        var line = 1
        var i = 0
        var lineStart = true
        let count = bytes.count
        return bytes.withUnsafeBufferPointer { b -> [Chunk]? in
            while i < count {
                let byte = b[i]
                if lineStart {
                    var at = i
                    if at + 2 < count, b[at] == 0xEF, b[at + 1] == 0xBB, b[at + 2] == 0xBF { at += 3 }  // a BOM before `---`
                    if at < count, b[at] == UInt8(ascii: "%") { return nil }
                    let dash = UInt8(ascii: "-")
                    if at + 2 < count, b[at] == dash, b[at + 1] == dash, b[at + 2] == dash,
                        at + 3 == count || b[at + 3] == 0x20 || b[at + 3] == 0x09 || b[at + 3] == 0x0A || b[at + 3] == 0x0D,
                        i > chunkStart
                    {
                        chunks.append(Chunk(firstLine: chunkLine, bytes: bytes[chunkStart..<i]))
                        chunkStart = i
                        chunkLine = line
                    }
                    lineStart = false
                }
                switch byte {
                case 0x0A:
                    line += 1
                    lineStart = true
                case 0x0D:
                    if i + 1 < count, b[i + 1] == 0x0A { i += 1 }
                    line += 1
                    lineStart = true
                case 0xC2 where i + 1 < count && b[i + 1] == 0x85:
                    return nil
                case 0xE2 where i + 2 < count && b[i + 1] == 0x80 && (b[i + 2] == 0xA8 || b[i + 2] == 0xA9):
                    return nil
                default:
                    break
                }
                i += 1
            }
            if chunkStart < count || chunks.isEmpty { chunks.append(Chunk(firstLine: chunkLine, bytes: bytes[chunkStart..<count])) }
            return chunks
        }
    }

    /// Parses one chunk (`chunks(_:)`) on its own, its lines numbered from `chunk.firstLine`.
    /// - Returns: its documents, and the nodes they count against `maxNodes`.
    /// - Throws: `YAMLSyntaxError` as `parse(_:)`; the position may differ from the whole stream's
    ///   (parse the whole stream to report an error).
    public static func parseChunk(_ chunk: Chunk) throws(YAMLSyntaxError) -> (documents: [YAMLNode], nodes: Int) {
        let bytes = try SourceText.removingDocumentPrefixBOMs(Array(chunk.bytes))
        let parsed = try parseEvents(bytes, lineOffset: chunk.firstLine - 1)
        return (parsed.documents, parsed.nodes)
    }

    /// Runs libyaml's event parser over `bytes` and builds the node trees, one per document, with marks.
    /// Long on purpose: one loop with one `switch` over libyaml's event types (yaml.h), kept together so
    /// that every event and its cleanup (`yaml_event_delete`) are visible in one place.
    /// - Parameter lineOffset: added to every line number (a chunk's lines before its first).
    /// - Returns: each document's root node, and the nodes spent (`maxNodes`).
    private static func parseEvents(_ bytes: [UInt8], lineOffset: Int) throws(YAMLSyntaxError) -> (documents: [YAMLNode], nodes: Int) {
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
        var stack: [Open] = []
        var root: YAMLNode?
        var anchors: [String: (node: YAMLNode, size: Int)] = [:]
        var sizes: [Int] = []  // nodes inside each open collection, for anchored collections
        var budget = maxNodes

        func spend(_ count: Int, at mark: SourceMark) throws(YAMLSyntaxError) {
            budget -= count
            guard budget >= 0 else {
                throw YAMLSyntaxError(message: "document expands to more than \(maxNodes) nodes (alias bomb?)", mark: mark)
            }
            for i in sizes.indices { sizes[i] += count }
        }

        func add(_ node: YAMLNode) {
            guard !stack.isEmpty else {
                root = node
                return
            }
            let top = stack.count - 1
            if stack[top].isSequence {
                stack[top].items.append(node)
            } else if let key = stack[top].key {
                stack[top].pairs.append(YAMLNode.Pair(key: key, value: node))
                stack[top].key = nil
            } else {
                stack[top].key = node
            }
        }

        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                var text = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                if let context = parser.context { text += " \(String(cString: context))" }
                throw YAMLSyntaxError(message: text, mark: mark(parser.problem_mark, lineOffset))
            }
            defer { yaml_event_delete(&event) }
            let position = mark(event.start_mark, lineOffset)

            switch event.type {
            case YAML_STREAM_END_EVENT:
                return (documents, maxNodes - budget)
            case YAML_DOCUMENT_START_EVENT:
                root = nil
                anchors = [:]
            case YAML_DOCUMENT_END_EVENT:
                documents.append(root ?? YAMLNode(.scalar("", .plain), mark: position))
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                guard let target = anchors[name] else {
                    throw YAMLSyntaxError(message: "alias *\(name) names no anchor", mark: position)
                }
                try spend(target.size, at: position)
                var node = target.node
                node.mark = position
                add(node)
            case YAML_SCALAR_EVENT:
                try spend(1, at: position)
                let scalar = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                let style: YAMLNode.ScalarStyle
                switch scalar.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: style = .literal
                case YAML_FOLDED_SCALAR_STYLE: style = .folded
                default: style = .plain
                }
                let node = YAMLNode(.scalar(text, style), mark: position, tag: scalar.tag.map { String(cString: $0) })
                if let anchor = scalar.anchor { anchors[String(cString: anchor)] = (node, 1) }
                add(node)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                guard stack.count < maxDepth else {
                    throw YAMLSyntaxError(message: "nesting deeper than \(maxDepth) levels", mark: position)
                }
                try spend(1, at: position)
                let isSequence = event.type == YAML_SEQUENCE_START_EVENT
                let anchor = (isSequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor).map { String(cString: $0) }
                let tag = (isSequence ? event.data.sequence_start.tag : event.data.mapping_start.tag).map { String(cString: $0) }
                stack.append(Open(isSequence: isSequence, mark: position, anchor: anchor, tag: tag))
                sizes.append(1)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let top = stack.popLast() else { continue }
                let size = sizes.popLast() ?? 1
                let node =
                    top.isSequence
                    ? YAMLNode(.sequence(top.items), mark: top.mark, tag: top.tag)
                    : YAMLNode(.mapping(try merged(top.pairs)), mark: top.mark, tag: top.tag)
                if let anchor = top.anchor { anchors[anchor] = (node, size) }
                add(node)
            default:
                continue
            }
        }
    }

    /// A mapping's pairs with its merge keys applied (`<<: *base`, `<<: [*a, *b]`; YAML 1.1's merge type,
    /// yaml.org/type/merge.html, which Kubernetes' YAML reader, go-yaml, applies): the pairs of each
    /// merged mapping are added unless the mapping itself has that key, and of several merged mappings
    /// an earlier one wins. Merged pairs keep their own positions (the anchored text), so an error in
    /// one points there.
    /// - Throws: `YAMLSyntaxError` when a merge key's value is not a mapping or a list of mappings.
    static func merged(_ pairs: [YAMLNode.Pair]) throws(YAMLSyntaxError) -> [YAMLNode.Pair] {
        guard pairs.contains(where: { isMergeKey($0.key) }) else { return pairs }
        var explicit: [YAMLNode.Pair] = []
        var sources: [[YAMLNode.Pair]] = []
        for pair in pairs {
            guard isMergeKey(pair.key) else {
                explicit.append(pair)
                continue
            }
            let mappings: [YAMLNode]
            if case .sequence(let items) = pair.value.value { mappings = items } else { mappings = [pair.value] }
            for mapping in mappings {
                guard case .mapping(let merged) = mapping.value else {
                    throw YAMLSyntaxError(
                        message: "a merge key (<<) takes a mapping or a list of mappings (such as *base), found \(mapping.kindDescription)",
                        mark: mapping.mark)
                }
                sources.append(merged)
            }
        }
        var seen = Set(explicit.map { identity($0.key) })
        var result = explicit
        for source in sources {
            for pair in source where seen.insert(identity(pair.key)).inserted { result.append(pair) }
        }
        return result
    }

    /// What makes two keys the same key: a scalar's text, however it is quoted (`port` and `"port"`).
    private static func identity(_ key: YAMLNode) -> YAMLNode.Value {
        if case .scalar(let text, _) = key.value { return .scalar(text, .plain) }
        return key.value
    }

    /// A plain `<<` key (or one tagged `!!merge`).
    private static func isMergeKey(_ key: YAMLNode) -> Bool {
        guard case .scalar("<<", .plain) = key.value else { return false }
        return key.tag == nil || key.tag == "tag:yaml.org,2002:merge"
    }

    private static func mark(_ m: yaml_mark_t, _ lineOffset: Int) -> SourceMark {
        SourceMark(line: Int(m.line) + 1 + lineOffset, column: Int(m.column) + 1)
    }
}
