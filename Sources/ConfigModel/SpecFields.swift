/// The one table of every `spec` field of LLMKube's `Model` and `InferenceService` (`v1alpha1`), with
/// the CRD's types, enums, bounds and defaults, and each field's class on one node.
///
/// Source: `defilantech/LLMKube` commit `907ac8d8ee5bef229562ec5340ecdcb9e0576f0d`,
/// `api/v1alpha1/model_types.go`, `api/v1alpha1/inferenceservice_types.go` and the generated CRDs in
/// `config/crd/bases/`. Core Kubernetes types (Toleration, Affinity, Probe, Volume, SecurityContext, ...)
/// are `.kubernetes(...)`: checked to be a mapping (or a list of mappings), never acted on.
/// `spec.port`, `restartPolicy`, `terminationGracePeriodSeconds` and `startupTimeoutSeconds` are this
/// agent's own (not in the CRD); each also has an annotation spelling (`AgentAnnotations`).
public enum SpecFields {
    /// The CRD's `spec.runtime` values (`llamacpp` is llama-server).
    public static let crdRuntimes = ["llamacpp", "llamacpp-router", "personaplex", "vllm", "tgi", "sglang", "generic"]
    /// The metal agents' runtime keys: this agent's, and the upstream agent's `--runtime` values.
    public static let agentRuntimes = ["llama-server", "mlx-server", "omlx", "ollama", "vllm-swift"]
    /// The CRD's `spec.format` values.
    public static let formats = ["gguf", "mlx", "safetensors", "pytorch", "custom"]
    /// llama.cpp KV cache types the CRD accepts for `cacheTypeK` / `cacheTypeV`.
    public static let cacheTypes = ["f16", "f32", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl"]
    /// `speculativeDecoding.type` values (llama.cpp `--spec-type`, with LLMKube's older aliases).
    public static let speculativeTypes = [
        "none", "disabled", "mtp", "draft", "draft-simple", "draft-eagle3", "draft-mtp", "draft-dflash", "draft-dspark",
        "ngram-simple", "ngram-map-k", "ngram-map-k4v", "ngram-mod", "ngram-cache",
    ]

    // The tables are computed properties, not stored globals: a global holding indirect-enum boxes reads
    // as leaked to LeakSanitizer (`scripts/fuzz`), and building them takes microseconds.

    /// `hardware.gpu` of a Model.
    static var gpu: [SpecField] {
        [
            SpecField("enabled", .boolean, .informational, "whether the model wants a GPU"),
            SpecField("count", .integer(0...8), .informational, "GPUs; with `sharding`, more than 1 sets llama-server `--split-mode`/`--tensor-split`"),
            SpecField("layers", .int32(min: -1), .node, "llama-server `--n-gpu-layers` (-1: all)"),
            SpecField("memory", .text, .informational, "GPU memory the model needs"),
            SpecField("vendor", .enumeration(["nvidia", "amd", "intel"], noun: "GPU vendor"), .informational, default: "nvidia", "GPU vendor"),
            SpecField("runtime", .enumeration(["vulkan", "rocm"]), .cluster, "GPU runtime image choice"),
            SpecField("resourceName", .string(pattern: "^[a-z0-9.\\-]+/[a-z0-9._\\-]+$"), .cluster, "device-plugin resource"),
            SpecField("tolerationKey", .string(pattern: "^[a-z0-9.\\-]+/[a-z0-9._\\-]+$"), .cluster, "taint to tolerate"),
            SpecField("resourceClaims", .list(.kubernetes("PodResourceClaim"), maxItems: 16), .cluster, "DRA resource claims"),
            SpecField(
                "sharding",
                .object([
                    SpecField(
                        "strategy", .enumeration(["layer", "tensor", "row", "pipeline", "none"]), .node, default: "layer",
                        "llama-server `--split-mode` (tensor = row; pipeline = layer) when `count` > 1"),
                    SpecField("layerSplit", .strings, .node, "layer ranges per GPU (`0-15`) → `--tensor-split` ratios"),
                ]), .node, "multi-GPU split"),
        ]
    }

    /// Every field of a Model's `spec`.
    public static var model: [SpecField] {
        [
            // The CRD's pattern, and (issue 9) the node-local spellings of a path it has no room for: `./…`,
            // `../…`, `~` and `~/…`. A cluster rejects those three; this node takes them as a user means them.
            SpecField(
                "source", .string(pattern: PatternMatch.source), .node,
                required: true,
                "absolute path, a path relative to the config file's folder (`./…` and `../…` too), `~/…`, or a `file://`, `http(s)://` or `hf://` URL; `pvc://`, `s3://`: entry error"
            ),
            SpecField(
                "format", .enumeration(formats, noun: "format"), .node, default: "gguf",
                "`gguf` (llama-server) or `mlx` (mlx-server); `safetensors`, `pytorch`, `custom`: entry error `FormatNotSupported`"),
            SpecField(
                "sha256", .string(pattern: PatternMatch.sha256, expected: "64 hexadecimal digits"), .node, "checked before the first start (`ChecksumMismatch`)"
            ),
            SpecField("mmproj", .text, .node, "llama-server `--mmproj` (a local path, relative to the config file's folder)"),
            SpecField("files", .strings, .informational, "companion files a cluster stages; on a node they are already beside the model"),
            SpecField("quantization", .text, .informational, "e.g. Q4_K_M"),
            SpecField(
                "hardware",
                .object([
                    SpecField(
                        "accelerator", .enumeration(["cpu", "metal", "cuda", "rocm", "intel", "vulkan"]), .informational, default: "cpu",
                        "the node's accelerator is what the runtime binary was built for"),
                    SpecField("gpu", .object(gpu), .informational, ""),
                    SpecField("memoryBudget", .text, .node, "bytes this Model's entries may commit (`24Gi`, `8192Mi`, `16G`), instead of `--memory-budget`"),
                    SpecField("memoryFraction", .number(), .node, "share of physical memory this Model's entries may commit, instead of `--memory-fraction`"),
                ]), .informational, ""),
            SpecField(
                "resources", .object([SpecField("cpu", .text, .cluster), SpecField("memory", .text, .cluster)]), .cluster, "pod resources of the download job"),
            SpecField("prefetch", .boolean, .cluster, "in-cluster download ahead of use"),
            SpecField("prefetchTolerations", .list(.kubernetes("Toleration")), .cluster, ""),
            SpecField("refreshPolicy", .enumeration(["IfNotPresent", "OnChange"]), .cluster, default: "IfNotPresent", "in-cluster re-download"),
            SpecField("sourceSecretRef", .kubernetes("LocalObjectReference"), .cluster, "credentials for the download"),
        ]
    }

    static var secretKeySelector: FieldType { .kubernetes("SecretKeySelector") }

    /// Every field of an InferenceService's `spec`.
    public static var inferenceService: [SpecField] {
        [
            SpecField("modelRef", .text, .node, required: true, "name of a Model in the same namespace (any config file); none: entry error `ModelNotFound`"),
            SpecField(
                "runtime", .enumeration(crdRuntimes + agentRuntimes, noun: "runtime"), .node, default: "llamacpp",
                "`llamacpp`/`llama-server`, `mlx-server`; other known values: entry error `RuntimeNotSupported`; absent: the agent's `--runtime`"),
            SpecField("replicas", .integer(0...10), .node, default: "1", "0 runs nothing (reason `ScaledToZero`); more than 1 runs one process (warning)"),
            SpecField("suspend", .boolean, .node, default: "false", "`true` runs nothing (phase `Stopped`, reason `Suspended`)"),
            SpecField("contextSize", .integer(128...2_097_152), .node, "llama-server `--ctx-size` (default 2048)"),
            SpecField("parallelSlots", .integer(1...64), .node, "llama-server `--parallel`; mlx_lm.server `--decode-concurrency`, mlx-server `--max-slots`"),
            SpecField("flashAttention", .boolean, .node, "llama-server `--flash-attn on|off`"),
            SpecField("jinja", .boolean, .node, "llama-server `--jinja` / `--no-jinja`"),
            SpecField("cacheTypeK", .enumeration(cacheTypes, noun: "cache type"), .node, "llama-server `--cache-type-k`"),
            SpecField("cacheTypeV", .enumeration(cacheTypes, noun: "cache type"), .node, "llama-server `--cache-type-v`"),
            SpecField("cacheTypeCustomK", .text, .node, "llama-server `--cache-type-k`, over `cacheTypeK`"),
            SpecField("cacheTypeCustomV", .text, .node, "llama-server `--cache-type-v`, over `cacheTypeV`"),
            SpecField("batchSize", .integer(1...16384), .node, "llama-server `--batch-size`"),
            SpecField("uBatchSize", .int32(min: 1), .node, "llama-server `--ubatch-size`"),
            SpecField("moeCPUOffload", .boolean, .node, "llama-server `--cpu-moe`"),
            SpecField("moeCPULayers", .int32(min: 0), .node, "llama-server `--n-cpu-moe`"),
            SpecField("noKvOffload", .boolean, .node, "llama-server `--no-kv-offload`"),
            SpecField("noWarmup", .boolean, .node, "llama-server `--no-warmup`"),
            SpecField("reasoningBudget", .int32(min: 0), .node, "llama-server `--reasoning-budget` (0: no thinking output)"),
            SpecField("reasoningBudgetMessage", .text, .node, "llama-server `--reasoning-budget-message`"),
            SpecField("metadataOverrides", .strings, .node, "llama-server `--override-kv` (items joined by commas)"),
            SpecField("tensorOverrides", .strings, .node, "llama-server `--override-tensor` (items joined by commas)"),
            SpecField(
                "ropeScaling",
                .object([
                    SpecField("type", .enumeration(["linear", "yarn", "longrope"]), .node, required: true, "llama-server `--rope-scaling`"),
                    SpecField("factor", .string(pattern: PatternMatch.decimal), .node, "llama-server `--rope-scale`"),
                    SpecField("originalContext", .int32(min: 128), .node, "llama-server `--yarn-orig-ctx`"),
                ]), .node, ""),
            SpecField(
                "mode", .enumeration(["chat", "embedding", "rerank"]), .node,
                "llama-server: embedding `--embedding --pooling last --cache-ram 0`; rerank `--reranking --embedding --pooling rank --cache-ram 0`"),
            SpecField(
                "speculativeDecoding",
                .object([
                    SpecField(
                        "type", .enumeration(speculativeTypes), .node, required: true,
                        "llama-server `--spec-type` (mtp = draft-mtp, draft = draft-simple, disabled = none)"),
                    SpecField("draftModelRef", .text, .node, "a Model in the same namespace: llama-server `-md PATH`"),
                    SpecField("draftModel", .string(minLength: 1, maxLength: 253), .node, "a file beside the model: llama-server `-md PATH`"),
                    SpecField("nDraftMax", .int32(min: 1), .node, "llama-server `--spec-draft-n-max`"),
                    SpecField("pMin", .number(0...1), .node, "llama-server `--spec-draft-p-min`"),
                ]), .node, ""),
            SpecField("extraArgs", .strings, .node, "appended last to the runtime's argv"),
            SpecField(
                "env",
                .list(
                    .object([
                        SpecField("name", .text, .node, required: true),
                        SpecField("value", .text, .node),
                        SpecField("valueFrom", .kubernetes("EnvVarSource"), .cluster, "secrets and config maps exist only in a cluster"),
                    ])), .node, "added to the process environment"),
            SpecField("bindAddress", .text, .node, "address this runtime binds (over the agent's `--host`)"),
            SpecField(
                "endpoint",
                .object([
                    SpecField("port", .integer(1...65535), .node, default: "8080", "the port, when `spec.port` is absent"),
                    SpecField("path", .text, .informational, default: "/v1/chat/completions", "the runtimes serve every OpenAI path"),
                    SpecField("type", .enumeration(["ClusterIP", "NodePort", "LoadBalancer"]), .cluster, default: "ClusterIP", "Service type"),
                    SpecField("nodePort", .integer(30000...32767), .cluster, "Service node port"),
                    SpecField(
                        "gateway",
                        .object([
                            SpecField("enabled", .boolean, .cluster),
                            SpecField(
                                "gatewayRef",
                                .object([
                                    SpecField("name", .text, .cluster, required: true),
                                    SpecField("namespace", .text, .cluster),
                                ]), .cluster, required: true),
                            SpecField("modelName", .text, .cluster),
                        ]), .cluster, "Gateway API route"),
                ]), .node, ""),
            SpecField("containerPort", .integer(1...65535), .node, "the port, when `spec.port` and `endpoint.port` are absent"),
            SpecField(
                "priority", .enumeration(["critical", "high", "normal", "low", "batch"]), .cluster, default: "normal", "GPU preemption between services"),
            SpecField("evictionProtection", .boolean, .informational, "this agent never evicts"),
            SpecField("hotCacheMaxSize", .text, .node, "oMLX only"),
            SpecField("pagedSSDCacheDir", .text, .node, "oMLX only"),
            SpecField("pagedSSDCacheMaxSize", .text, .node, "oMLX only"),
            SpecField("turboQuantBits", .integerEnumeration([3, 6, 8]), .node, "oMLX only"),
            // Agent-only fields (not in the CRD; each also has an annotation spelling).
            SpecField("port", .integer(1...65535), .node, "TCP port (agent-only; annotation `metal-agent.llmkube.dev/port`)"),
            SpecField("terminationGracePeriodSeconds", .integer(0...86_400), .node, default: "30", "seconds between SIGTERM and SIGKILL (agent-only)"),
            SpecField(
                "restartPolicy", .enumeration(RestartPolicy.allCases.map(\.rawValue), noun: "restart policy"), .node, default: "Always",
                "when to restart after the process ends (agent-only)"),
            SpecField("startupTimeoutSeconds", .integer(1...86_400), .node, default: "600", "seconds a start may take (agent-only)"),
            // Cluster fields.
            SpecField("image", .text, .cluster, "container image"),
            SpecField("imagePullSecrets", .list(.kubernetes("LocalObjectReference")), .cluster, ""),
            SpecField("command", .strings, .cluster, "`generic` runtime's container command"),
            SpecField("args", .strings, .cluster, "`generic` runtime's container args"),
            SpecField(
                "resources",
                .object([
                    SpecField("cpu", .text, .cluster), SpecField("memory", .text, .cluster),
                    SpecField("gpu", .integer(0...8), .cluster), SpecField("gpuMemory", .text, .cluster), SpecField("hostMemory", .text, .cluster),
                    SpecField("ephemeralStorage", .string(pattern: "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"), .cluster),
                    SpecField(
                        "gpuSharing",
                        .object([
                            SpecField("mode", .enumeration(["exclusive", "shared", "partitioned"]), .cluster, default: "exclusive"),
                            SpecField("profile", .text, .cluster),
                            SpecField("memoryLimitGiB", .int32(min: 1), .cluster),
                        ]), .cluster),
                ]), .cluster, "pod resources"),
            SpecField("tolerations", .list(.kubernetes("Toleration")), .cluster, ""),
            SpecField("nodeSelector", .stringMap, .cluster, ""),
            SpecField("affinity", .kubernetes("Affinity"), .cluster, ""),
            SpecField("topologySpreadConstraints", .list(.kubernetes("TopologySpreadConstraint")), .cluster, ""),
            SpecField("podSecurityContext", .kubernetes("PodSecurityContext"), .cluster, ""),
            SpecField("securityContext", .kubernetes("SecurityContext"), .cluster, ""),
            SpecField("podAnnotations", .stringMap, .cluster, ""),
            SpecField("podLabels", .stringMap, .cluster, ""),
            SpecField("priorityClassName", .text, .cluster, ""),
            SpecField("runtimeClassName", .text, .cluster, ""),
            SpecField("extraVolumes", .list(.kubernetes("Volume")), .cluster, ""),
            SpecField("extraVolumeMounts", .list(.kubernetes("VolumeMount")), .cluster, ""),
            SpecField(
                "probeOverrides",
                .object([
                    SpecField("startup", .kubernetes("Probe"), .cluster), SpecField("liveness", .kubernetes("Probe"), .cluster),
                    SpecField("readiness", .kubernetes("Probe"), .cluster),
                ]), .cluster, "pod probes (the agent probes each runtime its own way)"),
            SpecField(
                "autoscaling",
                .object([
                    SpecField("minReplicas", .integer(1...10), .cluster, default: "1"),
                    SpecField("maxReplicas", .integer(1...100), .cluster, required: true),
                    SpecField(
                        "metrics",
                        .list(
                            .object([
                                SpecField("type", .enumeration(["Pods", "Resource"]), .cluster, required: true),
                                SpecField("name", .text, .cluster, required: true),
                                SpecField("targetAverageValue", .text, .cluster),
                                SpecField("targetAverageUtilization", .int32, .cluster),
                            ])), .cluster),
                ]), .cluster, "HorizontalPodAutoscaler"),
            SpecField(
                "disruption",
                .object([
                    SpecField("protectAlways", .boolean, .cluster), SpecField("protectStartup", .boolean, .cluster, default: "true"),
                ]), .cluster, "PodDisruptionBudget"),
            SpecField(
                "modelCache",
                .object([
                    SpecField("claimName", .string(minLength: 1, maxLength: 253), .cluster),
                    SpecField("persistence", .enumeration(["Cached", "Ephemeral"]), .cluster),
                ]), .cluster, "model cache volume"),
            SpecField("revisionHistoryLimit", .int32(min: 0), .cluster, ""),
            SpecField(
                "rolloutPolicy",
                .object([
                    SpecField("force", .boolean, .cluster), SpecField("waitForIdle", .boolean, .cluster),
                    SpecField("idleTimeoutSeconds", .integer(0...Int(Int64.max)), .cluster, default: "300"),
                ]), .cluster, ""),
            SpecField("maxPodLifetimeSeconds", .integer(1...Int(Int64.max)), .cluster, ""),
            SpecField("maxPodLifetimeIdleTimeoutSeconds", .integer(0...Int(Int64.max)), .cluster, ""),
            SpecField("skipModelInit", .boolean, .cluster, ""),
            SpecField(
                "slo",
                .object([
                    SpecField("name", .text, .cluster),
                    SpecField("indicator", .enumeration(["availability", "latency"]), .cluster, default: "availability"),
                    SpecField("objective", .string(pattern: PatternMatch.decimal), .cluster, required: true),
                    SpecField("latencyThreshold", .string(pattern: PatternMatch.decimal), .cluster),
                    SpecField("window", .string(pattern: "^[0-9]+[mhdw]$"), .cluster, default: "28d"),
                ]), .cluster, "SLO alerting"),
            SpecField(
                "personaPlexConfig",
                .object([
                    SpecField("cpuOffload", .boolean, .cluster), SpecField("quantize4Bit", .boolean, .cluster),
                    SpecField("hfTokenSecretRef", secretKeySelector, .cluster),
                ]), .cluster, "personaplex runtime"),
            SpecField(
                "tgiConfig",
                .object([
                    SpecField("dtype", .enumeration(["float16", "bfloat16"]), .cluster),
                    SpecField("quantize", .enumeration(["bitsandbytes", "gptq", "awq", "eetq"]), .cluster),
                    SpecField("maxInputLength", .int32, .cluster), SpecField("maxTotalTokens", .int32, .cluster),
                    SpecField("hfTokenSecretRef", secretKeySelector, .cluster),
                ]), .cluster, "tgi runtime"),
            SpecField(
                "vllmConfig",
                .object([
                    SpecField(
                        "attentionBackend", .enumeration(["FLASH_ATTN", "FLASHINFER", "XFORMERS", "flashinfer", "flash_attn", "xformers", "torch_sdpa"]),
                        .cluster),
                    SpecField("cpuOffloadGB", .int32(min: 0), .cluster),
                    SpecField("dtype", .enumeration(["auto", "float16", "bfloat16"]), .cluster),
                    SpecField("enableChunkedPrefill", .boolean, .cluster), SpecField("enableExpertParallel", .boolean, .cluster),
                    SpecField("enablePrefixCaching", .boolean, .cluster),
                    SpecField("gpuMemoryUtilization", .number(0.1...0.99), .cluster),
                    SpecField("hfTokenSecretRef", secretKeySelector, .cluster),
                    SpecField("kvCacheCustomDtype", .text, .cluster),
                    SpecField("kvCacheDtype", .enumeration(["auto", "fp8_e5m2", "fp8_e4m3"]), .cluster, default: "auto"),
                    SpecField("maxModelLen", .int32, .cluster),
                    SpecField("maxNumBatchedTokens", .int32(min: 512), .cluster),
                    SpecField("quantization", .enumeration(["awq", "gptq", "squeezellm", "fp8", "nvfp4", "mxfp4", "compressed-tensors"]), .cluster),
                    SpecField(
                        "speculative",
                        .object([
                            SpecField("enabled", .boolean, .cluster), SpecField("model", .text, .cluster),
                            SpecField("numSpeculativeTokens", .integer(1...16), .cluster, default: "4"),
                        ]), .cluster),
                    SpecField("tensorParallelSize", .int32, .cluster),
                ]), .cluster, "vllm runtime"),
            SpecField(
                "sglangConfig",
                .object([
                    SpecField("attentionBackend", .enumeration(["flashinfer", "flash_attn", "torch_native"]), .cluster),
                    SpecField("chatTemplate", .text, .cluster),
                    SpecField("chunkedPrefillSize", .int32(min: 512), .cluster),
                    SpecField("contextLength", .int32(min: 128), .cluster),
                    SpecField("dataParallelSize", .int32(min: 1), .cluster),
                    SpecField("enablePrefixCaching", .boolean, .cluster),
                    SpecField("expertParallelSize", .int32(min: 1), .cluster),
                    SpecField("hfTokenSecretRef", secretKeySelector, .cluster),
                    SpecField("kvCacheCustomDtype", .text, .cluster),
                    SpecField("kvCacheDtype", .enumeration(["auto", "fp8_e5m2", "fp8_e4m3"]), .cluster, default: "auto"),
                    SpecField("logLevel", .enumeration(["debug", "info", "warning", "error"]), .cluster),
                    SpecField(
                        "loraAdapters",
                        .list(
                            .object([
                                SpecField("name", .string(minLength: 1), .cluster, required: true),
                                SpecField("path", .string(minLength: 1), .cluster, required: true),
                            ])), .cluster),
                    SpecField("loraModules", .strings, .cluster), SpecField("loraTargetModules", .strings, .cluster),
                    SpecField("maxLoraRank", .int32(min: 1), .cluster),
                    SpecField("maxRunningRequests", .int32(min: 1), .cluster),
                    SpecField("memFractionStatic", .number(0.1...0.99), .cluster),
                    SpecField("quantization", .text, .cluster),
                    SpecField("reasoningParser", .enumeration(["qwen3", "deepseek-r1"]), .cluster),
                    SpecField("skipTokenizerInit", .boolean, .cluster),
                    SpecField(
                        "speculative",
                        .object([
                            SpecField("acceptThresholdAcc", .number(0...1), .cluster), SpecField("acceptThresholdSingle", .number(0...1), .cluster),
                            SpecField("algorithm", .enumeration(["EAGLE", "EAGLE3", "Medusa"]), .cluster),
                            SpecField("draftModelPath", .text, .cluster), SpecField("eagleTopK", .int32(min: 1), .cluster),
                            SpecField("enabled", .boolean, .cluster), SpecField("numDraftTokens", .int32(min: 1), .cluster, default: "4"),
                            SpecField("numSteps", .int32(min: 1), .cluster),
                        ]), .cluster),
                    SpecField("tensorParallelSize", .int32(min: 1), .cluster),
                    SpecField("toolCallParser", .enumeration(["llama3", "qwen3", "qwen25", "hermes", "functionary", "mistral"]), .cluster),
                    SpecField("trustRemoteCode", .boolean, .cluster),
                ]), .cluster, "sglang runtime"),
        ]
    }

    /// Every field name at any depth of either kind's spec, so that a name of another meaning is never
    /// offered as a "did you mean" for it.
    static let allNames: Set<String> = {
        var names: Set<String> = []
        func visit(_ fields: [SpecField]) {
            for f in fields {
                names.insert(f.name)
                visit(children(f.type))
            }
        }
        visit(model)
        visit(inferenceService)
        return names
    }()

    /// Fields of an object type (or of a list's object items).
    static func children(_ type: FieldType) -> [SpecField] {
        switch type {
        case .object(let fields): return fields
        case .list(let item, _): return children(item)
        default: return []
        }
    }

    /// The field at a dotted path (`endpoint.port`) of a kind's spec; list items are entered through.
    public static func field(_ path: String, in fields: [SpecField]) -> SpecField? {
        var current = fields
        var found: SpecField?
        for part in path.split(separator: ".") {
            guard let f = current.first(where: { $0.name == part }) else { return nil }
            found = f
            current = children(f.type)
        }
        return found
    }
}
