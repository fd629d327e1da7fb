import ConfigModel

/// llama.cpp's `llama-server` for GGUF models.
///
/// argv: `--model PATH --host HOST --port PORT --ctx-size N --n-gpu-layers N`, then `--parallel N`
/// when `parallelSlots` is set, `--flash-attn on|off` when `flashAttention` is set (spelled per build,
/// see `flashAttentionTakesValueFromBuild`), `--jinja` or
/// `--no-jinja` when `jinja` is set, then the CRD's tuning fields (`tuningArguments`), then
/// `spec.extraArgs`. Flags left out keep llama-server's own
/// defaults, which in b11434 are `--parallel -1` (auto, 4 slots), `--flash-attn auto` and `--jinja`;
/// so an explicit `parallelSlots: 1` or `jinja: false` is passed on rather than dropped. Readiness: `GET /health` answers 503 while the model loads and 200 once it
/// can serve (llama.cpp `tools/server/README.md`, "GET /health"); under `--api-prefix` in extraArgs it is
/// `PREFIX/health`, and the entry's endpoint ends with the prefix (`apiPrefix`).
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
        "--split-mode", "-sm", "--tensor-split", "-ts", "--mmproj", "-mm", "--rope-scaling", "--rope-scale", "--yarn-orig-ctx",
        "--cache-type-k", "-ctk", "--cache-type-v", "-ctv", "--cpu-moe", "-cmoe", "--n-cpu-moe", "-ncmoe", "--no-kv-offload", "-nkvo",
        "--override-tensor", "-ot", "--override-kv", "--batch-size", "-b", "--ubatch-size", "-ub", "--no-warmup",
        "--reasoning-budget", "--reasoning-budget-message", "--embedding", "--embeddings", "--reranking", "--rerank", "--pooling",
        "--cache-ram", "-cram", "--spec-type", "--spec-draft-model", "--model-draft", "-md", "--spec-draft-n-max", "--spec-draft-p-min",
    ]
    /// llama-server's other spellings of the flags it sets (b11434 `common/arg.cpp`).
    static let spellings: [String: String] = [
        "-m": "--model", "-c": "--ctx-size", "-ngl": "--n-gpu-layers", "--gpu-layers": "--n-gpu-layers", "-np": "--parallel",
        "-fa": "--flash-attn", "--no-jinja": "--jinja", "-sm": "--split-mode", "-ts": "--tensor-split", "-mm": "--mmproj",
        "-ctk": "--cache-type-k", "-ctv": "--cache-type-v", "-cmoe": "--cpu-moe", "-ncmoe": "--n-cpu-moe", "-nkvo": "--no-kv-offload",
        "-ot": "--override-tensor", "-b": "--batch-size", "-ub": "--ubatch-size", "--embeddings": "--embedding", "--rerank": "--reranking",
        "-cram": "--cache-ram", "--spec-draft-model": "-md", "--model-draft": "-md",
    ]

    /// llama-server's long spelling of `flag` (`--ctx_size` and `-c` are `--ctx-size`).
    public func canonicalFlag(_ flag: String) -> String {
        let spelled = Self.asRead(flag)
        return Self.spellings[spelled] ?? spelled
    }

    /// An argument as llama-server reads it: in a `--` argument every `_` is a `-` (`--ctx_size` is
    /// `--ctx-size`; b11434 `common/arg.cpp`, `common_params_parse_ex`). Other arguments are unchanged.
    public static func asRead(_ argument: String) -> String {
        argument.hasPrefix("--") ? String(argument.map { $0 == "_" ? "-" : $0 }) : argument
    }

    /// The oMLX-only fields: llama-server has no setting for them.
    public let unsupportedNodeFields: Set<String> = ["hotCacheMaxSize", "pagedSSDCacheDir", "pagedSSDCacheMaxSize", "turboQuantBits"]

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
    public static let startupTimeout: Duration = .seconds(600)
    /// GPU layers when the Model gives none: all of them on Apple Silicon (Metal), none elsewhere.
    public let defaultGPULayers: Int

    /// - Parameter defaultGPULayers: layers to offload when a Model sets none; nil picks the platform default.
    public init(defaultGPULayers: Int? = nil) {
        self.defaultGPULayers = defaultGPULayers ?? GPUDefaults.layers
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
        args += Self.tuningArguments(r)
        args += s.extraArgs
        let environment = environment([:], s)
        let prefix = Self.apiPrefix(s.extraArgs, environment: environment)
        var launch = LaunchDescription(
            executable: r.binary, arguments: args, environment: environment, host: r.host, port: r.port,
            readiness: HTTPProbe(path: prefix + "/health", successStatus: 200...200, period: .seconds(0.5)),
            liveness: HTTPProbe(path: prefix + "/health", successStatus: 200...200, timeout: .seconds(5)),
            startupTimeout: s.startupTimeoutSeconds.map { .seconds($0) } ?? Self.startupTimeout,
            terminationGracePeriod: .seconds(s.terminationGracePeriodSeconds),
            restartPolicy: s.restartPolicy
        )
        launch.pathPrefix = prefix
        return launch
    }

    /// The path llama-server serves every route under: the last `--api-prefix PREFIX` of `extraArgs`
    /// (flags as llama-server reads them, `--api_prefix` too), else `LLAMA_ARG_API_PREFIX` from
    /// `spec.env` (llama.cpp reads a flag's variable only when the flag is not given), else `""`.
    /// llama-server registers `PREFIX + path` for each route (b11434 `tools/server/server-http.cpp`), so
    /// `/health` is then `PREFIX/health`: the probes and the endpoint follow it.
    static func apiPrefix(_ extraArgs: [String], environment: [String: String]) -> String {
        lastValue(of: ["--api-prefix"], in: extraArgs) ?? environment["LLAMA_ARG_API_PREFIX"] ?? ""
    }

    /// The value of the last occurrence of `flags` in `args` (`FLAG VALUE` or `FLAG=VALUE`), nil without
    /// one. Flags are matched as llama-server reads them (`--ctx_size` is `--ctx-size`, `asRead`);
    /// values are kept as written.
    public static func lastValue(of flags: [String], in args: [String]) -> String? {
        var value: String?
        var i = 0
        while i < args.count {
            let parts = args[i].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if flags.contains(asRead(String(parts[0]))) {
                if parts.count == 2 {
                    value = String(parts[1])
                } else if i + 1 < args.count {
                    value = args[i + 1]
                    i += 1
                }
            }
            i += 1
        }
        return value
    }

    /// llama-server flags for the CRD's node fields, in this order (each only when its field is set):
    /// `--split-mode`/`--tensor-split` (Model `hardware.gpu.sharding` with `count` > 1; LLMKube's
    /// mapping: tensor = row, pipeline = layer, `layerSplit` ranges → ratios), `--mmproj`,
    /// `--rope-scaling`/`--rope-scale`/`--yarn-orig-ctx`, `--cache-type-k`/`-v` (the custom forms win),
    /// `--cpu-moe`, `--n-cpu-moe`, `--no-kv-offload`, `--override-tensor` and `--override-kv` (items
    /// joined by commas: b11434 keeps only the last of a repeated flag), `--batch-size`, `--ubatch-size`, `--no-warmup`, `--reasoning-budget` (+ `-message`),
    /// the `mode` flags (embedding: `--embedding --pooling last --cache-ram 0`; rerank: `--reranking
    /// --embedding --pooling rank --cache-ram 0`, each left out when extraArgs has it, as LLMKube does),
    /// and `--spec-type` (aliases mtp → draft-mtp, draft → draft-simple, disabled → none) with `-md`,
    /// `--spec-draft-n-max`, `--spec-draft-p-min`. Flags verified against llama-server b11434 `--help`.
    /// Long on purpose: one line per llama-server flag, like a table.
    public static func tuningArguments(_ r: ResolvedService) -> [String] {
        let t = r.service.tuning
        var args: [String] = []
        if let count = r.model.gpuCount, count > 1, r.model.shardingStrategy != nil || !r.model.layerSplit.isEmpty {
            let mode: String
            switch r.model.shardingStrategy {
            case "tensor", "row": mode = "row"
            case "none": mode = "none"
            default: mode = "layer"
            }
            args += ["--split-mode", mode]
            if mode != "none" { args += ["--tensor-split", tensorSplit(count: count, layerSplit: r.model.layerSplit)] }
        }
        if let mmproj = r.mmprojPath { args += ["--mmproj", mmproj] }
        if let rope = t.ropeScalingType {
            args += ["--rope-scaling", rope]
            if let factor = t.ropeScalingFactor { args += ["--rope-scale", factor] }
            if let original = t.ropeScalingOriginalContext { args += ["--yarn-orig-ctx", String(original)] }
        }
        if let k = t.cacheTypeK { args += ["--cache-type-k", k] }
        if let v = t.cacheTypeV { args += ["--cache-type-v", v] }
        if t.moeCPUOffload == true { args.append("--cpu-moe") }
        if let n = t.moeCPULayers { args += ["--n-cpu-moe", String(n)] }
        if t.noKvOffload == true { args.append("--no-kv-offload") }
        // b11434 keeps only the last of a repeated flag ("use comma-separated values instead"): one flag, all items.
        if !t.tensorOverrides.isEmpty { args += ["--override-tensor", t.tensorOverrides.joined(separator: ",")] }
        if !t.metadataOverrides.isEmpty { args += ["--override-kv", t.metadataOverrides.joined(separator: ",")] }
        if let b = t.batchSize { args += ["--batch-size", String(b)] }
        if let u = t.uBatchSize { args += ["--ubatch-size", String(u)] }
        if t.noWarmup == true { args.append("--no-warmup") }
        if let budget = t.reasoningBudget {
            args += ["--reasoning-budget", String(budget)]
            if let message = t.reasoningBudgetMessage, !message.isEmpty { args += ["--reasoning-budget-message", message] }
        }
        let extra = r.service.extraArgs
        func unless(_ flag: String, _ more: [String]) {
            if !extra.contains(where: { $0 == flag || $0.hasPrefix(flag + "=") }) { args += [flag] + more }
        }
        switch t.mode {
        case "embedding":
            unless("--embedding", [])
            unless("--pooling", ["last"])
            unless("--cache-ram", ["0"])
        case "rerank":
            unless("--reranking", [])
            unless("--embedding", [])
            unless("--pooling", ["rank"])
            unless("--cache-ram", ["0"])
        default:
            break
        }
        if let written = t.speculativeType {
            let type = ["mtp": "draft-mtp", "draft": "draft-simple", "disabled": "none"][written] ?? written
            if type != "none" {
                args += ["--spec-type", type]
                if let draft = r.draftModelPath { args += ["-md", draft] }
                if let n = t.nDraftMax { args += ["--spec-draft-n-max", String(n)] }
                if let p = t.pMin { args += ["--spec-draft-p-min", formatNumber(p)] }
            }
        }
        return args
    }

    /// `--tensor-split` ratios: layer ranges (`0-24`, `25-39`) → counts divided by their greatest common
    /// divisor (`5,3`) when there is one range per GPU, else an even split (`1,1`), as LLMKube's controller.
    static func tensorSplit(count: Int, layerSplit: [String]) -> String {
        if layerSplit.count == count {
            let sizes: [Int] = layerSplit.compactMap { range in
                let parts = range.split(separator: "-", maxSplits: 1).map { $0.filter { $0 != " " } }
                guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, b >= a else { return nil }
                return b - a + 1
            }
            if sizes.count == count {
                func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
                let g = sizes.reduce(0, gcd)
                return sizes.map { String($0 / g) }.joined(separator: ",")
            }
        }
        return Array(repeating: "1", count: count).joined(separator: ",")
    }

    static func formatNumber(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
