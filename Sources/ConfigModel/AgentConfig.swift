/// A whole, valid `models.yaml`: its Models by name and its InferenceServices in file order.
public struct AgentConfig: Sendable, Hashable {
    /// The file it was read from, as given to the loader.
    public var file: String
    /// Every `kind: Model`, keyed by `metadata.name`.
    public var models: [String: Model]
    /// Every `kind: InferenceService`, in file order; names are unique.
    public var services: [InferenceService]

    /// Creates a config from already validated parts (tests and tools; the loader builds it otherwise).
    public init(file: String, models: [String: Model], services: [InferenceService]) {
        self.file = file
        self.models = models
        self.services = services
    }

    /// The Model a service's `modelRef` names. Always present in a loaded config.
    public func model(for service: InferenceService) -> Model? { models[service.modelRef] }
}
