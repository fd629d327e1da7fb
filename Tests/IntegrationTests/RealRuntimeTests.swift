import Crypto
import Foundation
import Supervisor
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The real thing: one agent runs the real llama-server (llama.cpp) and the real mlx_lm.server (MLX on
/// CPU) side by side on tiny generated models, and both answer a completion. The models come the way
/// users name them: the GGUF from an `http://127.0.0.1` URL with its sha256, the MLX folder from an
/// `hf://` repository through `HF_ENDPOINT`, both served by a local HTTP server this test starts.
///
/// Needs `scripts/provision` (README's test command runs it and sets these variables):
/// `METAL_AGENT_LLAMA_SERVER_BIN`, `METAL_AGENT_MLX_SERVER_BIN`, `METAL_AGENT_MODELS` (folder with
/// `tiny-llama.gguf` and `tiny-mlx/`). Without them the test is skipped, unless `METAL_AGENT_E2E=1`,
/// which makes their absence a failure (CI sets it, so CI never skips it silently).
@Suite(.serialized) struct RealRuntimeTests {
    static let env = ProcessInfo.processInfo.environment
    static let llama = env["METAL_AGENT_LLAMA_SERVER_BIN"]
    static let mlx = env["METAL_AGENT_MLX_SERVER_BIN"]
    static let models = env["METAL_AGENT_MODELS"]
    static let available = llama != nil && mlx != nil && models != nil
    static let required = env["METAL_AGENT_E2E"] == "1"

    @Test(.enabled(if: available || required, "set METAL_AGENT_LLAMA_SERVER_BIN, METAL_AGENT_MLX_SERVER_BIN and METAL_AGENT_MODELS (scripts/provision) to run"))
    func realLlamaServerAndMLXServerUnderOneAgent() async throws {
        let llama = try #require(Self.llama, "METAL_AGENT_E2E=1 but METAL_AGENT_LLAMA_SERVER_BIN is not set")
        let mlx = try #require(Self.mlx, "METAL_AGENT_E2E=1 but METAL_AGENT_MLX_SERVER_BIN is not set")
        let models = try #require(Self.models, "METAL_AGENT_E2E=1 but METAL_AGENT_MODELS is not set")
        let gguf = try [UInt8](Data(contentsOf: URL(fileURLWithPath: models + "/tiny-llama.gguf")))
        let sha256 = SHA256.hash(data: gguf).map { String(format: "%02x", $0) }.joined()
        let mlxFolder = models + "/tiny-mlx"
        let mlxFiles = try FileManager.default.contentsOfDirectory(atPath: mlxFolder).sorted()
        let listing = #"{"id": "local/tiny-mlx", "siblings": ["# + mlxFiles.map { #"{"rfilename": "\#($0)"}"# }.joined(separator: ", ") + "]}"
        // The hub and the file server, on 127.0.0.1.
        let server = try TestHTTPServer { request, _ in
            switch request.path {
            case "/files/tiny-llama.gguf": return .file(gguf)
            case "/api/models/local/tiny-mlx/revision/main?blobs=true": return .status(200, body: listing)
            default:
                let prefix = "/local/tiny-mlx/resolve/main/"
                let name = String(request.path.dropFirst(prefix.count))
                if request.path.hasPrefix(prefix), mlxFiles.contains(name),
                    let bytes = FileManager.default.contents(atPath: mlxFolder + "/" + name)
                {
                    return .file([UInt8](bytes))
                }
                return .status(404)
            }
        }
        func config(ctx: Int) -> String {
            let header = "apiVersion: inference.llmkube.dev/v1alpha1"
            return """
                \(header)
                kind: Model
                metadata: {name: gguf}
                spec: {source: "\(server.base)/files/tiny-llama.gguf", format: gguf, sha256: \(sha256)}
                ---
                \(header)
                kind: Model
                metadata: {name: mlx}
                spec: {source: "hf://local/tiny-mlx", format: mlx}
                ---
                \(header)
                kind: InferenceService
                metadata: {name: chat}
                spec: {modelRef: gguf, contextSize: \(ctx), extraArgs: ["--threads", "1"]}
                ---
                \(header)
                kind: InferenceService
                metadata: {name: mlx-chat}
                spec: {modelRef: mlx, runtime: mlx-server}

                """
        }
        let agent = try AgentHarness(config: config(ctx: 256))
        try agent.start(
            [
                "--llama-server-bin", llama, "--mlx-server-bin", mlx, "--model-store", agent.dir.path + "/store",
                "--gateway-listen", "127.0.0.1:0",
            ],
            environment: ["HF_ENDPOINT": server.base, "HF_TOKEN": nil])
        let s = try await agent.waitFor("both real runtimes Ready") { $0.services.count == 2 && $0.services.allSatisfy { $0.phase == .Ready } }
        for service in s.services {
            #expect(service.modelPath?.hasPrefix(agent.dir.path + "/store/") == true, "\(service.name) runs the downloaded model: \(service.modelPath ?? "")")
        }
        #expect(server.requests.contains { $0.path == "/files/tiny-llama.gguf" })
        #expect(server.requests.contains { $0.path.hasPrefix("/api/models/local/tiny-mlx/") })
        #expect(s.capabilities.runtimes == ["llama-server", "mlx-server"])
        let chat = try #require(agent.service("chat", in: s))
        let mlxChat = try #require(agent.service("mlx-chat", in: s))
        #expect(chat.runtimeSource == "default" && mlxChat.runtimeSource == "spec")

        for service in [chat, mlxChat] {
            let text = try await complete(endpoint: try #require(service.endpoint))
            #expect(!text.isEmpty, "\(service.name) returned no completion")
        }

        // One gateway port serves both, by model name, streaming and not (issue 14).
        let gateway = try await agent.gatewayPort()
        for model in ["chat", "mlx-chat"] {
            let body = #"{"model": "\#(model)", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4, "temperature": 0"#
            let plain = try await GatewayTests.request(gateway, "/v1/chat/completions", json: body + "}")
            #expect(plain.status == 200, "\(model) through the gateway: \(plain.text)")
            let choices = plain.json["choices"] as? [[String: Any]]
            #expect((choices?.first?["message"] as? [String: Any])?["content"] is String, "\(model): \(plain.text)")
            let streamed = try await GatewayTests.request(gateway, "/v1/chat/completions", json: body + #", "stream": true}"#)
            #expect(streamed.status == 200, "\(model) streaming through the gateway: \(streamed.text)")
            #expect(streamed.header("Content-Type")?.hasPrefix("text/event-stream") == true, "\(model): \(streamed.headers)")
            #expect(streamed.text.contains("data: {") && streamed.text.contains("[DONE]"), "\(model): \(streamed.text)")
        }

        // Edit one entry: only llama-server restarts; the MLX process stays the same.
        try agent.renameSave(config(ctx: 512))
        let edited = try await agent.waitFor("chat restarted with the new context size") { s in
            let c = agent.service("chat", in: s)
            return s.config.generation == 2 && c?.phase == .Ready && c?.pid != chat.pid
        }
        #expect(agent.service("mlx-chat", in: edited)?.pid == mlxChat.pid)
        _ = try await complete(endpoint: try #require(agent.service("chat", in: edited)?.endpoint))

        let pids = edited.services.compactMap(\.pid)
        #expect(try await agent.terminate() == 0)
        for pid in pids { #expect(!AgentHarness.isAlive(pid)) }
    }

    /// `examples/cluster-user.yaml`, a manifest as a cluster user writes it (image, resources, endpoint,
    /// tolerations, a namespace, annotations), is served unchanged by the real llama-server: cluster
    /// fields are warned about and ignored, `endpoint.port` is the port, `batchSize` and `cacheTypeK`
    /// reach llama-server's argv, and it answers a completion.
    @Test(.enabled(if: available || required, "set METAL_AGENT_LLAMA_SERVER_BIN, METAL_AGENT_MLX_SERVER_BIN and METAL_AGENT_MODELS (scripts/provision) to run"))
    func clusterUserManifestServedUnchangedByTheRealLlamaServer() async throws {
        let llama = try #require(Self.llama, "METAL_AGENT_E2E=1 but METAL_AGENT_LLAMA_SERVER_BIN is not set")
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/cluster-user.yaml").path
        let agent = try AgentHarness(config: "# unused\n")
        agent.configArguments = ["--config", example]
        try agent.start([
            "--llama-server-bin", llama, "--runtimes", "llama-server",
            "--status-file", agent.statusPath, "--log-dir", agent.dir.appendingPathComponent("logs").path,
        ])
        let s = try await agent.waitFor("the cluster user's entry Ready") { $0.services.first?.phase == .Ready }
        let chat = try #require(s.services.first)
        #expect(chat.name == "llm/tiny-chat" && chat.namespace == "llm" && chat.runtime == "llama-server")
        #expect(chat.port == 8083)
        #expect(s.config.valid && s.config.warnings.filter { $0.hasSuffix("[IgnoredField]") }.count == 2)
        let text = try await complete(endpoint: try #require(chat.endpoint))
        #expect(!text.isEmpty)
        // The tuning fields reached llama-server.
        let cmdline = try String(contentsOfFile: "/proc/\(try #require(chat.pid))/cmdline", encoding: .utf8).split(separator: "\0").map(String.init)
        #expect(cmdline.contains("--batch-size") && cmdline.contains("--cache-type-k"))
        #expect(try await agent.terminate() == 0)
    }

    /// POST /v1/completions; returns the first choice's text.
    func complete(endpoint: String) async throws -> String {
        var request = URLRequest(url: URL(string: endpoint + "/v1/completions")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"prompt": "hello", "max_tokens": 4, "temperature": 0}"#.utf8)
        request.timeoutInterval = 120
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        #expect(status == 200, "\(endpoint): HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let choices = try #require(json["choices"] as? [[String: Any]])
        return try #require(choices.first?["text"] as? String)
    }
}
