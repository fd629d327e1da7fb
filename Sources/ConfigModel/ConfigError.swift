/// One problem in a config file, at an exact position.
///
/// Rendered as `file:line:column: field: message`, the format compilers use, so editors and terminals
/// can jump to it. `field` names the entry and the path inside it, e.g. `InferenceService "coder" spec.contextSize`.
public struct ConfigError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The config file's path as given to the loader.
    public var file: String
    /// 1-based line of the offending node.
    public var line: Int
    /// 1-based column of the offending node.
    public var column: Int
    /// The field path, e.g. `InferenceService "coder" spec.runtime`; empty for YAML syntax errors.
    public var field: String
    /// What was expected and what was found.
    public var message: String

    /// Creates an error at `mark` (1-based line and column) in `file`.
    public init(file: String, mark: SourceMark, field: String, message: String) {
        self.file = file
        self.line = mark.line
        self.column = mark.column
        self.field = field
        self.message = message
    }

    public var description: String {
        field.isEmpty ? "\(file):\(line):\(column): \(message)" : "\(file):\(line):\(column): \(field): \(message)"
    }
}

/// Every error found in one config file. Loading reports all of them at once, in file order.
public struct ConfigLoadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Every error, sorted by line then column.
    public var errors: [ConfigError]

    /// Wraps a list of errors.
    public init(errors: [ConfigError]) {
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
