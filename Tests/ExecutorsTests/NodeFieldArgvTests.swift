import ConfigModel
import Executors
import Foundation
import Testing

/// Every node field of LLMKube's CRD reaches llama-server's argv as the flag b11434 takes
/// (`common/arg.cpp`): read from YAML by the real loader, launched by the real executor.
@Suite struct NodeFieldArgvTests {
    static let header = "apiVersion: inference.llmkube.dev/v1alpha1"

    /// Loads `model` and `service` spec lines (YAML flow or block) and returns the service's argv
    /// after the fixed head (`--model ... --n-gpu-layers N`).
    func argv(model: String = "source: /m/main.gguf", _ spec: String, mmproj: String? = nil, draft: String? = nil) throws -> [String] {
        let text = """
            \(Self.header)
            kind: Model
            metadata: {name: main}
            spec:
            \(model.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            ---
            \(Self.header)
            kind: InferenceService
            metadata: {name: chat}
            spec:
              modelRef: main
            \(spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            """
        let config = try ConfigLoader.load(Array(text.utf8), file: "/m/models.yaml")
        let service = try #require(config.services.first)
        let model = try #require(config.model(for: service))
        let r = ResolvedService(
            service: service, model: model, modelPath: "/m/main.gguf", runtime: ResolvedRuntime(name: "llama-server", source: .spec),
            binary: "/bin/llama-server", host: "127.0.0.1", port: 8080, mmprojPath: mmproj, draftModelPath: draft)
        let args = LlamaServerExecutor(defaultGPULayers: 0).launch(r).arguments
        return Array(args.dropFirst(10))
    }

    @Test func everyTuningFieldInOrder() throws {
        let args = try argv(
            """
            cacheTypeK: q8_0
            cacheTypeV: q4_0
            batchSize: 1024
            uBatchSize: 256
            moeCPUOffload: true
            moeCPULayers: 12
            noKvOffload: true
            noWarmup: true
            reasoningBudget: 512
            reasoningBudgetMessage: "Answer now."
            metadataOverrides: ["tokenizer.ggml.add_bos_token=bool:false", "general.name=str:x"]
            tensorOverrides: ["blk\\\\.1\\\\.ffn_.*=CPU", "blk\\\\.2\\\\.ffn_.*=CPU"]
            ropeScaling: {type: yarn, factor: "4", originalContext: 8192}
            extraArgs: ["--threads", "2"]
            """)
        #expect(
            args == [
                "--rope-scaling", "yarn", "--rope-scale", "4", "--yarn-orig-ctx", "8192",
                "--cache-type-k", "q8_0", "--cache-type-v", "q4_0", "--cpu-moe", "--n-cpu-moe", "12", "--no-kv-offload",
                "--override-tensor", "blk\\.1\\.ffn_.*=CPU,blk\\.2\\.ffn_.*=CPU",
                "--override-kv", "tokenizer.ggml.add_bos_token=bool:false,general.name=str:x",
                "--batch-size", "1024", "--ubatch-size", "256", "--no-warmup",
                "--reasoning-budget", "512", "--reasoning-budget-message", "Answer now.",
                "--threads", "2",
            ])
    }

    @Test func customCacheTypesWinAndFalseSwitchesAddNothing() throws {
        let args = try argv(
            """
            cacheTypeK: f16
            cacheTypeCustomK: turbo3
            cacheTypeCustomV: q5_1
            moeCPUOffload: false
            noKvOffload: false
            noWarmup: false
            """)
        #expect(args == ["--cache-type-k", "turbo3", "--cache-type-v", "q5_1"])
    }

    @Test func reasoningBudgetZeroTurnsThinkingOff() throws {
        #expect(try argv("reasoningBudget: 0") == ["--reasoning-budget", "0"])
        // Only the factor-less form: --rope-scaling alone.
        #expect(try argv("ropeScaling: {type: linear}") == ["--rope-scaling", "linear"])
    }

    @Test func modes() throws {
        #expect(try argv("mode: chat") == [])
        #expect(try argv("mode: embedding") == ["--embedding", "--pooling", "last", "--cache-ram", "0"])
        #expect(try argv("mode: rerank") == ["--reranking", "--embedding", "--pooling", "rank", "--cache-ram", "0"])
        // A flag already in extraArgs is not added again (LLMKube's rule); extraArgs come last.
        #expect(try argv("mode: embedding\nextraArgs: [\"--pooling\", \"mean\"]") == ["--embedding", "--cache-ram", "0", "--pooling", "mean"])
    }

    @Test func speculativeDecoding() throws {
        #expect(
            try argv("speculativeDecoding: {type: draft, draftModel: d.gguf, nDraftMax: 16, pMin: 0.75}", draft: "/m/d.gguf")
                == ["--spec-type", "draft-simple", "-md", "/m/d.gguf", "--spec-draft-n-max", "16", "--spec-draft-p-min", "0.75"])
        #expect(try argv("speculativeDecoding: {type: mtp}") == ["--spec-type", "draft-mtp"])
        #expect(try argv("speculativeDecoding: {type: ngram-simple, pMin: 1}") == ["--spec-type", "ngram-simple", "--spec-draft-p-min", "1"])
        #expect(try argv("speculativeDecoding: {type: disabled}") == [])
        #expect(try argv("speculativeDecoding: {type: none}") == [])
    }

    @Test func mmprojAndSharding() throws {
        #expect(try argv(model: "source: /m/main.gguf\nmmproj: proj.gguf", "", mmproj: "/m/proj.gguf") == ["--mmproj", "/m/proj.gguf"])
        let layers = "source: /m/main.gguf\nhardware: {gpu: {count: 2, sharding: {strategy: layer, layerSplit: [\"0-24\", \"25-39\"]}}}"
        #expect(try argv(model: layers, "") == ["--split-mode", "layer", "--tensor-split", "5,3"])
        let tensor = "source: /m/main.gguf\nhardware: {gpu: {count: 3, sharding: {strategy: tensor}}}"
        #expect(try argv(model: tensor, "") == ["--split-mode", "row", "--tensor-split", "1,1,1"])
        let pipeline = "source: /m/main.gguf\nhardware: {gpu: {count: 2, sharding: {strategy: pipeline, layerSplit: [\"0-9\"]}}}"
        #expect(try argv(model: pipeline, "") == ["--split-mode", "layer", "--tensor-split", "1,1"])
        let none = "source: /m/main.gguf\nhardware: {gpu: {count: 2, sharding: {strategy: none}}}"
        #expect(try argv(model: none, "") == ["--split-mode", "none"])
        // One GPU: nothing to split.
        let one = "source: /m/main.gguf\nhardware: {gpu: {count: 1, sharding: {strategy: row}}}"
        #expect(try argv(model: one, "") == [])
    }

    @Test func theSameFieldsChangeNothingOnMLX() throws {
        // mlx_lm.server has no such settings: its argv is the same with or without them (the entry gets IgnoredField).
        var service = InferenceService(name: "m", modelRef: "x")
        let plain = MLXServerExecutor().launch(mlxResolved(service)).arguments
        service.tuning.cacheTypeK = "q8_0"
        service.tuning.batchSize = 64
        service.tuning.mode = "embedding"
        #expect(MLXServerExecutor().launch(mlxResolved(service)).arguments == plain)
        #expect(MLXServerExecutor().unsupportedNodeFields.isSuperset(of: ["cacheTypeK", "batchSize", "mode", "contextSize"]))
    }

    @Test func mlxLMServerTakesADraftModel() throws {
        var service = InferenceService(name: "m", modelRef: "x")
        service.tuning.speculativeType = "draft"
        service.tuning.draftModelRef = "small"
        service.tuning.nDraftMax = 3
        let mlx = MLXServerExecutor()
        #expect(mlx.launch(mlxResolved(service, draft: "/m/small")).arguments.suffix(4) == ["--draft-model", "/m/small", "--num-draft-tokens", "3"])
        #expect(!mlx.unsupportedFields(service, binary: "/v/bin/mlx_lm.server").contains("speculativeDecoding"))
        // The Swift mlx-server and the ngram types have no such flag.
        #expect(mlx.unsupportedFields(service, binary: "/usr/local/bin/mlx-server").contains("speculativeDecoding"))
        #expect(!mlx.launch(mlxResolved(service, binary: "/usr/local/bin/mlx-server", draft: "/m/small")).arguments.contains("--draft-model"))
        service.tuning.speculativeType = "ngram-simple"
        service.tuning.draftModelRef = nil
        #expect(mlx.unsupportedFields(service, binary: "/v/bin/mlx_lm.server").contains("speculativeDecoding"))
    }

    func mlxResolved(_ service: InferenceService, binary: String = "/v/bin/mlx_lm.server", draft: String? = nil) -> ResolvedService {
        ResolvedService(
            service: service, model: Model(name: "x", source: .path("/m/x"), format: .mlx), modelPath: "/m/x",
            runtime: ResolvedRuntime(name: "mlx-server", source: .spec), binary: binary, host: "127.0.0.1", port: 9000,
            mmprojPath: nil, draftModelPath: draft)
    }
}
