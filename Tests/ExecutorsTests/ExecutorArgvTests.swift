import ConfigModel
import Executors
import Testing

func resolved(
    _ service: InferenceService, format: ModelFormat = .gguf, gpuLayers: Int? = nil, runtime: String = "llama-server",
    binary: String = "/opt/bin/llama-server", port: Int = 8080
) -> ResolvedService {
    let path = format == .gguf ? "/models/tiny.gguf" : "/models/tiny-mlx"
    return ResolvedService(
        service: service, model: Model(name: "m", source: .path(path), format: format, gpuLayers: gpuLayers),
        modelPath: path, runtime: ResolvedRuntime(name: runtime, source: .spec), binary: binary, host: "127.0.0.1", port: port)
}

@Suite struct LlamaServerExecutorTests {
    let executor = LlamaServerExecutor(defaultGPULayers: 0)

    @Test func minimalArgv() {
        let launch = executor.launch(resolved(InferenceService(name: "chat", modelRef: "m")))
        #expect(launch.executable == "/opt/bin/llama-server")
        #expect(
            launch.arguments == [
                "--model", "/models/tiny.gguf", "--host", "127.0.0.1", "--port", "8080", "--ctx-size", "2048", "--n-gpu-layers", "0",
            ])
        #expect(launch.endpoint == "http://127.0.0.1:8080")
        #expect(launch.readiness.path == "/health")
        #expect(launch.terminationGracePeriod == .seconds(30))
    }

    @Test func everyOptionInOrderWithExtraArgsLast() {
        let service = InferenceService(
            name: "chat", modelRef: "m", contextSize: 8192, parallelSlots: 4, flashAttention: true, jinja: true,
            extraArgs: ["--threads", "2", "--port", "9"], env: [EnvVar(name: "A", value: "1")], terminationGracePeriodSeconds: 5)
        let launch = executor.launch(resolved(service, gpuLayers: 33))
        #expect(
            launch.arguments == [
                "--model", "/models/tiny.gguf", "--host", "127.0.0.1", "--port", "8080", "--ctx-size", "8192",
                "--n-gpu-layers", "33", "--parallel", "4", "--flash-attn", "on", "--jinja", "--threads", "2", "--port", "9",
            ])
        #expect(launch.environment == ["A": "1"])
        #expect(launch.terminationGracePeriod == .seconds(5))
    }

    @Test func explicitOneSlotNoJinjaAndFlashAttentionOffArePassedOn() {
        // llama-server b11434 defaults to 4 slots and --jinja; an explicit choice must reach it.
        let service = InferenceService(name: "chat", modelRef: "m", parallelSlots: 1, flashAttention: false, jinja: false)
        let args = executor.launch(resolved(service)).arguments
        #expect(Array(args.suffix(5)) == ["--parallel", "1", "--flash-attn", "off", "--no-jinja"])
    }
}

@Suite struct MLXServerExecutorTests {
    let executor = MLXServerExecutor()

    @Test func mlxLMServerUsesDecodeConcurrency() {
        let service = InferenceService(name: "coder", modelRef: "m", parallelSlots: 3, extraArgs: ["--log-level", "DEBUG"])
        let launch = executor.launch(resolved(service, format: .mlx, runtime: "mlx-server", binary: "/venv/bin/mlx_lm.server", port: 9001))
        #expect(
            launch.arguments == [
                "--model", "/models/tiny-mlx", "--host", "127.0.0.1", "--port", "9001", "--decode-concurrency", "3", "--log-level", "DEBUG",
            ])
        #expect(launch.environment["HF_HUB_OFFLINE"] == "1")
    }

    @Test func swiftMLXServerUsesMaxSlots() {
        let service = InferenceService(name: "coder", modelRef: "m", parallelSlots: 2)
        let launch = executor.launch(resolved(service, format: .mlx, runtime: "mlx-server", binary: "/usr/local/bin/mlx-server"))
        #expect(Array(launch.arguments.suffix(2)) == ["--max-slots", "2"])
    }

    @Test func specEnvOverridesExecutorDefaults() {
        let service = InferenceService(name: "coder", modelRef: "m", env: [EnvVar(name: "HF_HUB_OFFLINE", value: "0")])
        #expect(executor.launch(resolved(service, format: .mlx, runtime: "mlx-server")).environment["HF_HUB_OFFLINE"] == "0")
    }
}

@Suite struct ExecutorRegistryTests {
    @Test func standardRegistryHasBothRuntimesAndAliases() {
        let registry = ExecutorRegistry.standard
        #expect(registry.runtimeNames == ["llama-server", "mlx-server"])
        #expect(registry.executor(for: "llamacpp")?.name == "llama-server")
        #expect(registry.executor(for: "mlx-server")?.formats == [.mlx])
        #expect(registry.executor(for: "vllm") == nil)
    }

    @Test func probeAcceptsOnlyItsStatusAndBody() {
        let probe = HTTPProbe(path: "/v1/models", successStatus: 200...200, bodyContains: "tiny")
        #expect(probe.accepts(status: 200, body: "{\"data\":[{\"id\":\"tiny\"}]}"))
        #expect(!probe.accepts(status: 200, body: "{\"data\":[]}"))
        #expect(!probe.accepts(status: 503, body: "tiny"))
    }
}

@Suite struct ProbeChoiceTests {
    @Test func mlxReadinessIsARealCompletionNotHealth() {
        let launch = MLXServerExecutor().launch(resolved(InferenceService(name: "c", modelRef: "m"), format: .mlx, runtime: "mlx-server"))
        #expect(launch.readiness.method == "POST")
        #expect(launch.readiness.path == "/v1/completions")
        #expect(launch.readiness.body?.contains("\"max_tokens\": 1") == true)
        #expect(launch.liveness.path == "/health")
    }

    @Test func llamaReadinessIsHealth() {
        let launch = LlamaServerExecutor().launch(resolved(InferenceService(name: "c", modelRef: "m")))
        #expect(launch.readiness.method == "GET" && launch.readiness.path == "/health")
    }
}
