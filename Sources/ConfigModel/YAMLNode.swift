/// A position in a source file, 1-based, as editors show it.
public struct SourceMark: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Line number, starting at 1.
    public var line: Int
    /// Column number (in Unicode scalars of the line as libyaml counts them), starting at 1.
    public var column: Int

    /// Creates a position; both numbers start at 1.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A YAML node as the loader sees it: a scalar, a sequence or a mapping, with the position it starts at.
///
/// This is the only shape the rest of ConfigModel reads; libyaml's C types never leave `YAMLParser`.
public struct YAMLNode: Sendable, Hashable {
    /// How a scalar was written. A quoted scalar is always a string: `"8080"` is not a number.
    public enum ScalarStyle: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    /// The node's content.
    public indirect enum Value: Sendable, Hashable {
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        /// Key/value pairs in file order; duplicate keys are kept so the decoder can report them.
        case mapping([Pair])
    }

    /// One key/value entry of a mapping.
    public struct Pair: Sendable, Hashable {
        /// The key node (a scalar in every valid config).
        public var key: YAMLNode
        /// The value node.
        public var value: YAMLNode
    }

    /// The content.
    public var value: Value
    /// Where the node starts (1-based).
    public var mark: SourceMark
    /// An explicit tag such as `!!str`, or nil.
    public var tag: String?

    /// Creates a node.
    public init(_ value: Value, mark: SourceMark, tag: String? = nil) {
        self.value = value
        self.mark = mark
        self.tag = tag
    }

    /// A word for error messages: "a string", "a list", "a mapping", "null".
    public var kindDescription: String {
        switch value {
        case .scalar(let s, let style):
            // A tag other than the core types' (`!!str 4096`, `!local true`) makes a string of it.
            if style == .plain, tag == nil || tag.map({ $0.hasPrefix("tag:yaml.org,2002:") && $0 != "tag:yaml.org,2002:str" }) == true {
                if isNull { return "null" }
                if Int(s) != nil || Double(s) != nil || (!s.isEmpty && s.allSatisfy(\.isNumber)) { return "a number (\(s))" }
                if s == "true" || s == "false" { return "a boolean (\(s))" }
            }
            return "a string (\"\(s)\")"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// True for a plain `null`, `~` or empty scalar (YAML 1.2 core schema).
    public var isNull: Bool {
        if case .scalar(let s, .plain) = value, tag == nil || tag == "tag:yaml.org,2002:null" {
            return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL"
        }
        return false
    }
}
