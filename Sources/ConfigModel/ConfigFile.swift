/// One config file's Models and InferenceServices, validated on their own (`ConfigLoader.parse`);
/// `ConfigLoader.merge` puts several together.
public struct ConfigFile: Sendable, Hashable {
    /// The file's path, as given to the loader.
    public var file: String
    /// Its Models, in file order.
    public var models: [Model] = []
    /// Its InferenceServices, in file order.
    public var services: [InferenceService] = []
    /// Warnings about the file (`IgnoredKind` for documents of other kinds).
    public var warnings: [ConfigWarning] = []

    /// An empty file's result.
    public init(file: String) {
        self.file = file
    }
}

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
