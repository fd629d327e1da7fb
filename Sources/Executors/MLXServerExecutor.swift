import ConfigModel

/// An MLX server for MLX model folders: the Swift `mlx-server` (macOS) or `mlx_lm.server` from the
/// `mlx-lm` pip package (Linux and macOS).
///
/// argv: `--model DIR --host HOST --port PORT`, then the binary's parallelism flag when
/// `parallelSlots` > 1 (`--decode-concurrency N` for `mlx_lm.server`, `--max-slots N` for
/// `mlx-server`), then for `mlx_lm.server` a draft-model `speculativeDecoding` (`--draft-model DIR`,
/// `--num-draft-tokens N` from `nDraftMax`; flags of mlx_lm.server 0.32's `--help`), then `spec.extraArgs`. Environment: `HF_HUB_OFFLINE=1`, since the agent serves
/// local folders only (a `spec.env` entry overrides it). Readiness: see `readinessProbe`; liveness:
/// `GET /health`, which turns 503 when the server's generation thread has died.
public struct MLXServerExecutor: RuntimeExecutor {
    /// `mlx-server`.
    public let name = RuntimeName.mlxServer
    /// MLX folders only.
    public let formats: Set<ModelFormat> = [.mlx]
    /// Looked up on PATH, in this order, when `--mlx-server-bin` is not given.
    public let defaultBinaryNames = ["mlx-server", "mlx_lm.server"]
    /// Node fields the MLX servers have no setting for: llama.cpp's context size, flash-attention,
    /// template switch, KV cache, batching, MoE, RoPE, reasoning, mode and speculative settings, and
    /// oMLX's cache settings.
    public let unsupportedNodeFields: Set<String> = [
        "contextSize", "flashAttention", "jinja", "cacheTypeK", "cacheTypeV", "cacheTypeCustomK", "cacheTypeCustomV",
        "batchSize", "uBatchSize", "moeCPUOffload", "moeCPULayers", "noKvOffload", "noWarmup", "reasoningBudget",
        "reasoningBudgetMessage", "metadataOverrides", "tensorOverrides", "ropeScaling", "mode", "speculativeDecoding",
        "hotCacheMaxSize", "pagedSSDCacheDir", "pagedSSDCacheMaxSize", "turboQuantBits",
    ]
    /// Flags this executor sets.
    public let managedFlags: Set<String> = ["--model", "--host", "--port", "--decode-concurrency", "--max-slots"]
    /// Seconds a start may take: loading tens of GB from disk takes minutes.
    public static let startupTimeout: Duration = .seconds(600)

    /// Creates the executor; it has no settings.
    public init() {}

    /// `speculativeDecoding.type` values that name a separate draft model, which `mlx_lm.server --draft-model` takes.
    static let draftTypes: Set<String> = ["draft", "draft-simple"]

    /// `mlx_lm.server` runs a draft-model `speculativeDecoding`; every other field of `unsupportedNodeFields` stays unsupported.
    public func unsupportedFields(_ service: InferenceService, binary: String) -> Set<String> {
        var fields = unsupportedNodeFields
        if Self.isMLXLM(binary), Self.draftTypes.contains(service.tuning.speculativeType ?? ""),
            service.tuning.draftModelRef != nil || service.tuning.draftModel != nil
        {
            fields.remove("speculativeDecoding")
        }
        return fields
    }

    /// True when `binary` is the Python `mlx_lm.server` rather than the Swift `mlx-server`.
    public static func isMLXLM(_ binary: String) -> Bool {
        let base = binary.split(separator: "/").last.map(String.init) ?? binary
        return base.hasPrefix("mlx_lm")
    }

    /// The argv, environment and probes for one service (see the type's documentation).
    public func launch(_ r: ResolvedService) -> LaunchDescription {
        let s = r.service
        var args = ["--model", r.modelPath, "--host", r.host, "--port", String(r.port)]
        if let slots = s.parallelSlots, slots > 1 {
            args += [Self.isMLXLM(r.binary) ? "--decode-concurrency" : "--max-slots", String(slots)]
        }
        if Self.isMLXLM(r.binary), Self.draftTypes.contains(s.tuning.speculativeType ?? ""), let draft = r.draftModelPath {
            args += ["--draft-model", draft]
            if let n = s.tuning.nDraftMax { args += ["--num-draft-tokens", String(n)] }
        }
        args += s.extraArgs
        return LaunchDescription(
            executable: r.binary, arguments: args, environment: environment(["HF_HUB_OFFLINE": "1"], s),
            host: r.host, port: r.port,
            readiness: Self.readinessProbe, liveness: Self.livenessProbe,
            startupTimeout: s.startupTimeoutSeconds.map { .seconds($0) } ?? Self.startupTimeout,
            terminationGracePeriod: .seconds(s.terminationGracePeriodSeconds),
            restartPolicy: s.restartPolicy
        )
    }

    /// Readiness is a one-token completion, not `/health`: `mlx_lm.server` (0.32) answers `/health` 200
    /// while its generation thread is still loading the model, and 503 with the process alive when the
    /// load failed. A completion is queued until the model is loaded, so a 200 means it really serves.
    static let readinessProbe = HTTPProbe(
        path: "/v1/completions", method: "POST", body: #"{"prompt": "ping", "max_tokens": 1}"#,
        successStatus: 200...200, period: .milliseconds(500), timeout: .seconds(60))
    static let livenessProbe = HTTPProbe(path: "/health", successStatus: 200...200, timeout: .seconds(5))
}
