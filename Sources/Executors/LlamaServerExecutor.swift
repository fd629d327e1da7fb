import ConfigModel

/// llama.cpp's `llama-server` for GGUF models.
///
/// argv: `--model PATH --host HOST --port PORT --ctx-size N --n-gpu-layers N`, then `--parallel N`
/// when `parallelSlots` is set, `--flash-attn on|off` when `flashAttention` is set (spelled per build,
/// see `flashAttentionTakesValueFromBuild`), `--jinja` or
/// `--no-jinja` when `jinja` is set, then `spec.extraArgs`. Flags left out keep llama-server's own
/// defaults, which in b11434 are `--parallel -1` (auto, 4 slots), `--flash-attn auto` and `--jinja`;
/// so an explicit `parallelSlots: 1` or `jinja: false` is passed on rather than dropped. Readiness: `GET /health` answers 503 while the model loads and 200 once it
/// can serve (llama.cpp `tools/server/README.md`, "GET /health").
public struct LlamaServerExecutor: RuntimeExecutor {
    /// `llama-server`.
    public let name = RuntimeName.llamaServer
    /// GGUF only.
    public let formats: Set<ModelFormat> = [.gguf]
    /// Looked up on PATH when `--llama-server-bin` is not given.
    public let defaultBinaryNames = ["llama-server"]
    /// Flags this executor sets, with llama-server's short and alternative spellings.
    public let managedFlags: Set<String> = [
        "--model", "-m", "--host", "--port", "--ctx-size", "-c", "--n-gpu-layers", "-ngl", "--gpu-layers",
        "--parallel", "-np", "--flash-attn", "-fa", "--jinja", "--no-jinja",
    ]
    /// The first llama.cpp build whose `--flash-attn` takes a value (`on|off|auto`): b6325, PR #15434
    /// ("use FA + max. GPU layers by default", 2025-08-30). Older builds take a bare switch and read a
    /// value after it as the next argument ("error: invalid argument: on"); newer ones reject the bare
    /// switch. Before b6325 flash attention was off by default, so `false` there passes nothing.
    public static let flashAttentionTakesValueFromBuild = 6325
    /// The oldest llama-server build supported (see README, "Runtime versions").
    public static let oldestSupportedBuild = 5000
    /// Context size in tokens when `spec.contextSize` is absent.
    public static let defaultContextSize = 2048
    /// Seconds a start may take: loading tens of GB from disk takes minutes.
    public static let startupTimeoutSeconds: Double = 600
    /// GPU layers when the Model gives none: all of them on Apple Silicon (Metal), none elsewhere.
    public let defaultGPULayers: Int

    /// - Parameter defaultGPULayers: layers to offload when a Model sets none; nil picks the platform default.
    public init(defaultGPULayers: Int? = nil) {
        #if os(macOS)
        self.defaultGPULayers = defaultGPULayers ?? 999
        #else
        self.defaultGPULayers = defaultGPULayers ?? 0
        #endif
    }

    /// The argv, environment and probes for one service (see the type's documentation).
    public func launch(_ r: ResolvedService) -> LaunchDescription {
        let s = r.service
        var args = [
            "--model", r.modelPath,
            "--host", r.host,
            "--port", String(r.port),
            "--ctx-size", String(s.contextSize ?? Self.defaultContextSize),
            "--n-gpu-layers", String(r.model.gpuLayers ?? defaultGPULayers),
        ]
        if let slots = s.parallelSlots { args += ["--parallel", String(slots)] }
        if let fa = s.flashAttention {
            if let build = r.version?.build, build < Self.flashAttentionTakesValueFromBuild {
                if fa { args.append("--flash-attn") }
            } else {
                args += ["--flash-attn", fa ? "on" : "off"]
            }
        }
        if let jinja = s.jinja { args.append(jinja ? "--jinja" : "--no-jinja") }
        args += s.extraArgs
        return LaunchDescription(
            executable: r.binary, arguments: args, environment: environment([:], s), host: r.host, port: r.port,
            readiness: HTTPProbe(path: "/health", successStatus: 200...200, periodSeconds: 0.5),
            liveness: HTTPProbe(path: "/health", successStatus: 200...200, timeoutSeconds: 5),
            startupTimeoutSeconds: s.startupTimeoutSeconds.map(Double.init) ?? Self.startupTimeoutSeconds,
            terminationGracePeriodSeconds: Double(s.terminationGracePeriodSeconds),
            restartPolicy: s.restartPolicy
        )
    }
}
