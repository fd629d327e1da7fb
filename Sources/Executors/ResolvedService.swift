import ConfigModel

/// An InferenceService joined with its Model, resolved runtime, binary and port: the input of an executor.
public struct ResolvedService: Sendable, Hashable {
    /// The entry as written (defaults applied).
    public var service: InferenceService
    /// The Model its `modelRef` names.
    public var model: Model
    /// The model's local path (file for GGUF, folder for MLX).
    public var modelPath: String
    /// The runtime and where it came from.
    public var runtime: ResolvedRuntime
    /// The runtime binary to exec.
    public var binary: String
    /// Address to bind.
    public var host: String
    /// Port to listen on (`spec.port`, or one the agent assigned).
    public var port: Int
    /// The Model's `spec.mmproj`, as a local path (llama-server `--mmproj`).
    public var mmprojPath: String?
    /// The draft model's local path for speculative decoding (`speculativeDecoding.draftModelRef`'s
    /// Model, or `draftModel` beside the model), llama-server `-md`.
    public var draftModelPath: String?
    /// The binary's version, when known: flags are spelled the way it accepts (nil: the newest spelling).
    public var version: RuntimeVersion?

    /// Creates a resolved service.
    public init(
        service: InferenceService, model: Model, modelPath: String, runtime: ResolvedRuntime, binary: String, host: String, port: Int,
        version: RuntimeVersion? = nil
    ) {
        self.version = version
        self.service = service
        self.model = model
        self.modelPath = modelPath
        self.runtime = runtime
        self.binary = binary
        self.host = host
        self.port = port
    }

    /// Creates a resolved service with its companion files.
    public init(
        service: InferenceService, model: Model, modelPath: String, runtime: ResolvedRuntime, binary: String, host: String, port: Int,
        mmprojPath: String?, draftModelPath: String?, version: RuntimeVersion? = nil
    ) {
        self.init(service: service, model: model, modelPath: modelPath, runtime: runtime, binary: binary, host: host, port: port, version: version)
        self.mmprojPath = mmprojPath
        self.draftModelPath = draftModelPath
    }
}
