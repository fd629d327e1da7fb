import Foundation
import Supervisor
import TestSupport
import Testing

/// The real agent on LLMKube manifests as a cluster user keeps them: a folder of files (as `kubectl
/// apply -f DIR` reads it), namespaces, cluster fields, a `modelRef` to a Model no file defines yet,
/// `suspend`, and a broken edit of one file while another file's edit applies.
@Suite(.serialized) struct LLMKubeManifestTests {
    static let header = "apiVersion: inference.llmkube.dev/v1alpha1"

    static func models(_ source: String = "models/tiny.gguf", _ extra: String = "") -> String {
        """
        # Models, applied with kubectl apply -f conf/ in a cluster.
        \(header)
        kind: Model
        metadata: {name: tiny, namespace: dev}
        spec:
          source: \(source)
          resources: {cpu: "1", memory: 1Gi}
        ---
        \(header)
        kind: Model
        metadata: {name: tiny}
        spec: {source: \(source), quantization: Q4_K_M}
        \(extra)
        """
    }

    /// `endpoint.port` is a port nobody holds now: LLMKube's default, 8080, may be taken on a test machine
    /// (a gateway of another agent), and an entry on a taken `endpoint.port` backs off in PortInUse.
    static func services(suspendDefault: Bool = false, endpointPort: Int) -> String {
        """
        apiVersion: v1
        kind: Namespace
        metadata: {name: dev}
        ---
        \(header)
        kind: InferenceService
        metadata: {name: chat.v1, namespace: dev}
        spec:
          modelRef: tiny
          image: ghcr.io/ggml-org/llama.cpp:server
          endpoint: {port: \(endpointPort), type: ClusterIP}
          resources: {cpu: "2", memory: 4Gi}
          tolerations: [{key: nvidia.com/gpu, operator: Exists}]
        ---
        \(header)
        kind: InferenceService
        metadata: {name: chat.v1}
        spec: {modelRef: tiny, suspend: \(suspendDefault)}
        ---
        \(header)
        kind: InferenceService
        metadata: {name: later}
        spec: {modelRef: later-model}
        """
    }

    @Test func aFolderOfManifestsWithNamespacesMissingModelsAndABrokenFile() async throws {
        let agent = try AgentHarness(config: "# unused\n")
        let conf = agent.dir.appendingPathComponent("conf")
        try FileManager.default.createDirectory(at: conf, withIntermediateDirectories: true)
        let modelsFile = conf.appendingPathComponent("10-models.yaml")
        let servicesFile = conf.appendingPathComponent("20-services.yml")
        let source = agent.dir.appendingPathComponent("models/tiny.gguf").path
        try Data(Self.models(source).utf8).write(to: modelsFile)
        let endpointPort = try LoopbackListener.freePort()
        try Data(Self.services(endpointPort: endpointPort).utf8).write(to: servicesFile)
        try Data("not: yaml: [".utf8).write(to: conf.appendingPathComponent("notes.txt"))  // not *.yaml: never read
        agent.configArguments = ["--config", conf.path]
        try agent.start(["--status-file", agent.statusPath, "--log-dir", agent.dir.appendingPathComponent("logs").path])

        let s = try await agent.waitFor("both chat.v1 entries Ready, later waiting for its Model") { s in
            s.services.map(\.name) == ["dev/chat.v1", "chat.v1", "later"]
                && s.services[0].phase == .Ready && s.services[1].phase == .Ready
                && s.services[2].phase == .Failed && s.services[2].reason == .ModelNotFound
        }
        #expect(s.services.map(\.namespace) == ["dev", "default", "default"])
        #expect(s.services[0].port == endpointPort)  // endpoint.port
        #expect(s.config.valid && s.config.files == [modelsFile.path, servicesFile.path])
        #expect(s.capabilities.specRuntimes?["llamacpp"] == "llama-server")
        // One IgnoredField warning per document that sets cluster fields, and the skipped Namespace.
        let warnings = s.config.warnings
        #expect(warnings.filter { $0.hasSuffix("[IgnoredField]") }.count == 2, "\(warnings)")
        #expect(
            warnings.contains {
                $0.contains(
                    "InferenceService \"dev/chat.v1\" spec: cluster fields, accepted and ignored on this node: spec.image, spec.endpoint.type, spec.resources, spec.tolerations [IgnoredField]"
                )
            })
        #expect(
            warnings.contains {
                $0.hasSuffix(
                    "v1 Namespace is not served by metal-agent (it reads Model and InferenceService of inference.llmkube.dev/v1alpha1); skipped [IgnoredKind]")
            })
        // A namespaced entry logs under its namespace's folder.
        #expect(s.services[0].logFile == agent.dir.appendingPathComponent("logs/dev/chat.v1.log").path)
        #expect(FileManager.default.fileExists(atPath: agent.dir.appendingPathComponent("logs/dev/chat.v1.log").path))

        // Break the services file while the models file gains the missing Model: the models edit applies
        // (later starts), the services file keeps its last good content (both chat.v1 keep their pids).
        let pids = s.services.prefix(2).map(\.pid)
        try Data((Self.services(endpointPort: endpointPort) + "\n  bogus: [").utf8).write(to: servicesFile)
        let laterModel = "---\n\(Self.header)\nkind: Model\nmetadata: {name: later-model}\nspec: {source: \(source)}\n"
        try Data(Self.models(source, laterModel).utf8).write(to: modelsFile)
        let broken = try await agent.waitFor("later Ready while the services file is rejected") { s in
            !s.config.valid && s.services.count == 3 && s.services[2].phase == .Ready
        }
        #expect(broken.services.prefix(2).map(\.pid) == pids)
        #expect(broken.config.errors.allSatisfy { $0.file == servicesFile.path } && !broken.config.errors.isEmpty)

        // Fix it with suspend on the default chat.v1: it stops (reason Suspended), the others keep running.
        try Data(Self.services(suspendDefault: true, endpointPort: endpointPort).utf8).write(to: servicesFile)
        let suspended = try await agent.waitFor("chat.v1 suspended") { s in
            s.config.valid && s.services.count == 3 && s.services[1].phase == .Stopped && s.services[1].reason == .Suspended
        }
        #expect(suspended.services[0].pid == pids[0])
        #expect(suspended.services[1].pid == nil)
        #expect(try await agent.terminate() == 0)
    }

    @Test func aFileSavedByDeleteAndRecreateInAFolderKeepsItsEntriesAndOneDeletedForGoodStopsThem() async throws {
        let agent = try AgentHarness(config: "# unused\n")
        let conf = agent.dir.appendingPathComponent("conf")
        try FileManager.default.createDirectory(at: conf, withIntermediateDirectories: true)
        let source = agent.dir.appendingPathComponent("models/tiny.gguf").path
        try Data(Self.models(source).utf8).write(to: conf.appendingPathComponent("10-models.yaml"))
        let servicesFile = conf.appendingPathComponent("20-services.yaml")
        let services = configYAML(svc("chat", model: "tiny")).components(separatedBy: "\n---\n").last!
        try Data(services.utf8).write(to: servicesFile)
        agent.configArguments = ["--config", conf.path]
        try agent.start(["--status-file", agent.statusPath, "--log-dir", agent.dir.appendingPathComponent("logs").path])
        let ready = try await agent.waitFor("chat Ready") { s in s.services.first { $0.name == "chat" }?.phase == .Ready }
        let pid = try #require(ready.services.first { $0.name == "chat" }?.pid)

        // An editor's save that deletes the file and writes it again a moment later: nothing restarts.
        try FileManager.default.removeItem(at: servicesFile)
        try await Task.sleep(for: .milliseconds(300))  // the agent sees the folder without the file meanwhile
        try Data(services.utf8).write(to: servicesFile)
        try await Task.sleep(for: .seconds(3))  // past the 2 s grace: a stop would have happened by now
        let after = try #require(agent.status())
        #expect(after.services.first { $0.name == "chat" }?.pid == pid, "chat was restarted by a delete-and-recreate save")

        // Deleted for good: after the grace its entry stops and leaves the status file.
        try FileManager.default.removeItem(at: servicesFile)
        try await agent.waitFor("chat removed") { s in !s.services.contains { $0.name == "chat" } }
        try await agent.waitUntilGone(pid)
        #expect(try await agent.terminate() == 0)
    }

    @Test func validateAcceptsClusterManifestsWithWarningsAndSeveralConfigs() async throws {
        let h = try AgentHarness(config: Self.models())
        let services = h.dir.appendingPathComponent("services.yaml")
        try Data(Self.services(endpointPort: 8085).replacingOccurrences(of: "modelRef: later-model", with: "modelRef: tiny").utf8).write(to: services)
        let r = try runAgentCommand([
            "validate", "--config", h.configPath, "--config", services.path,
            "--llama-server-bin", AgentHarness.fakeRuntime,
        ])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("warning: \(services.path):"))
        #expect(r.err.contains("[IgnoredField]") && r.err.contains("[IgnoredKind]"))
        // Only one of them: later's Model is elsewhere, so that alone is an entry error, not a file error.
        let alone = try runAgentCommand(["validate", "--config", services.path, "--llama-server-bin", AgentHarness.fakeRuntime])
        #expect(alone.status == 1)
        #expect(alone.err.contains("[ModelNotFound]") && alone.err.contains("entry error(s)"), "\(alone.err)")
    }
}
