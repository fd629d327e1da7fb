/// Something in a valid config that works but is probably not what was meant, or that this node
/// ignores: `IgnoredKind` (a document of another kind), `PortConflict` (an `endpoint.port` taken by
/// another entry).
public struct ConfigWarning: Sendable, Hashable, Codable {
    /// The object it concerns: an InferenceService's or Model's qualified name, or `Kind "name"` for a
    /// skipped document.
    public var subject: String
    /// Why: the status file shows the raw value.
    public var reason: Reason
    /// Position, field and message.
    public var error: ConfigError

    /// Creates a warning.
    public init(subject: String, reason: Reason, error: ConfigError) {
        self.subject = subject
        self.reason = reason
        self.error = error
    }

    /// The warnings the config loader gives; raw values as the status file shows them.
    public enum Reason: String, Sendable, Hashable, Codable {
        /// Two entries ask for the same `endpoint.port`.
        case PortConflict
        /// A document of a kind other than Model and InferenceService is skipped.
        case IgnoredKind
    }
}
