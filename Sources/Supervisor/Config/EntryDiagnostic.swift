import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A problem that concerns one entry only: an entry error fails that entry (every other entry is
/// applied), a warning fails nothing.
public struct EntryDiagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The InferenceService's name.
    public var service: String
    /// Why: for entry errors `RuntimeNotEnabled`, `RuntimeNotSupported`, `FormatMismatch`, `FormatNotSupported`,
    /// `ModelNotFound`, `UnsupportedModelSource`; for warnings `OverriddenFlag`, `IgnoredField`,
    /// `IgnoredKind`, `PortConflict`.
    public var reason: Reason
    /// Position, field and message.
    public var error: ConfigError

    /// Creates a diagnostic.
    public init(service: String, reason: Reason, error: ConfigError) {
        self.service = service
        self.reason = reason
        self.error = error
    }

    /// `file:line:column: field: message [Reason]`.
    public var description: String { "\(error) [\(reason)]" }
}

extension Reason {
    /// The reason of a config loader's warning.
    init(_ warning: ConfigWarning.Reason) {
        switch warning {
        case .PortConflict: self = .PortConflict
        case .IgnoredKind: self = .IgnoredKind
        }
    }
}
