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
