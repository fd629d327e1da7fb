/// A whole, valid `models.yaml`: its Models by name and its InferenceServices in file order.
public struct AgentConfig: Sendable, Hashable {
    /// The (first) file it was read from, as given to the loader.
    public var file: String
    /// Every file it was read from, in order.
    public var files: [String]
    /// Every `kind: Model`, keyed by `Model.qualifiedName` (`name`, or `namespace/name` outside `default`).
    public var models: [String: Model]
    /// Every `kind: InferenceService`, in file order; qualified names are unique.
    public var services: [InferenceService]
    /// Warnings found while reading (`IgnoredKind`, `PortConflict`).
    public var warnings: [ConfigWarning] = []

    /// Creates a config from already validated parts (tests and tools; the loader builds it otherwise).
    public init(file: String, models: [String: Model], services: [InferenceService]) {
        self.file = file
        self.files = [file]
        self.models = models
        self.services = services
    }

    /// The Model a service's `modelRef` names, in the service's namespace; nil when no file defines it
    /// (an entry error, `ModelNotFound`).
    public func model(for service: InferenceService) -> Model? {
        models[ObjectName.qualified(namespace: service.namespace, name: service.modelRef)]
    }

    /// A Model by name in a namespace (`speculativeDecoding.draftModelRef`).
    public func model(named name: String, namespace: String) -> Model? {
        models[ObjectName.qualified(namespace: namespace, name: name)]
    }
}
