/// Something in a valid config that works but is probably not what was meant, or that this node
/// ignores: `IgnoredKind` (a document of another kind), `PortConflict` (an `endpoint.port` taken by
/// another entry).
public struct ConfigWarning: Sendable, Hashable, Codable {
    /// The object it concerns: an InferenceService's or Model's qualified name, or `Kind "name"` for a
    /// skipped document.
    public var subject: String
    /// CamelCase reason.
    public var reason: String
    /// Position, field and message.
    public var error: ConfigError

    /// Creates a warning.
    public init(subject: String, reason: String, error: ConfigError) {
        self.subject = subject
        self.reason = reason
        self.error = error
    }
}
