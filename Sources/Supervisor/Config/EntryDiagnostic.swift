import ConfigModel
import Foundation

/// A problem that concerns one entry only: an entry error fails that entry (every other entry is
/// applied), a warning fails nothing.
public struct EntryDiagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The InferenceService's name.
    public var service: String
    /// CamelCase reason: `RuntimeNotEnabled`, `RuntimeNotSupported`, `FormatMismatch`, `FormatNotSupported`,
    /// `ModelNotFound`, `UnsupportedModelSource`; for warnings `OverriddenFlag`, `IgnoredField`,
    /// `IgnoredKind`, `PortConflict`.
    public var reason: String
    /// Position, field and message.
    public var error: ConfigError

    /// Creates a diagnostic.
    public init(service: String, reason: String, error: ConfigError) {
        self.service = service
        self.reason = reason
        self.error = error
    }

    /// `file:line:column: field: message [Reason]`.
    public var description: String { "\(error) [\(reason)]" }
}
