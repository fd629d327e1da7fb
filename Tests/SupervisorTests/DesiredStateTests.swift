import ConfigModel
import Executors
@testable import Supervisor
import Testing

@Suite struct DesiredStateTests {
    let models: [String: Model] = [
        "g": Model(name: "g", source: .path("/m/g.gguf"), format: .gguf),
        "x": Model(name: "x", source: .path("/m/x-mlx"), format: .mlx),
        "gone": Model(name: "gone", source: .path("/m/missing.gguf"), format: .gguf),
        "web": Model(name: "web", source: .remote("pvc://models/m.gguf"), format: .gguf),
    ]

    func build(_ services: [InferenceService], enabled: [String: String] = ["llama-server": "/bin/llama-server", "mlx-server": "/bin/mlx_lm.server"]) -> [DesiredService] {
        let builder = DesiredStateBuilder(node: NodeRuntimes(defaultRuntime: "llama-server", binaries: enabled))
        let config = AgentConfig(file: "/m/models.yaml", models: models, services: services)
        return builder.build(config) { path in
            switch path {
            case "/m/g.gguf": return (true, false)
            case "/m/x-mlx": return (true, true)
            default: return (false, false)
            }
        }
    }

    @Test func bothRuntimesSideBySide() {
        let desired = build([
            InferenceService(name: "chat", modelRef: "g"),
            InferenceService(name: "coder", modelRef: "x", runtime: "mlx-server"),
        ])
        #expect(desired.map(\.baseStatus.runtime) == ["llama-server", "mlx-server"])
        #expect(desired.map(\.baseStatus.runtimeSource) == ["default", "spec"])
        for entry in desired {
            guard case .run = entry.action else {
                Issue.record("\(entry.name) is not runnable")
                continue
            }
        }
    }

    @Test(arguments: [
        (InferenceService(name: "a", modelRef: "x"), "FormatMismatch"),  // mlx model on the default llama-server
        (InferenceService(name: "b", modelRef: "g", runtime: "mlx-server"), "FormatMismatch"),
        (InferenceService(name: "c", modelRef: "gone"), "ModelNotFound"),
        (InferenceService(name: "d", modelRef: "web"), "UnsupportedModelSource"),
    ])
    func entryErrorsFailOnlyThatEntry(service: InferenceService, reason: String) {
        let desired = build([service, InferenceService(name: "ok", modelRef: "g")])
        #expect(desired[0].baseStatus.phase == .Failed)
        #expect(desired[0].baseStatus.reason == reason)
        guard case .run = desired[1].action else {
            Issue.record("the healthy entry must still run")
            return
        }
    }

    @Test func runtimeNotEnabledOnThisNode() {
        let desired = build([InferenceService(name: "coder", modelRef: "x", runtime: "mlx-server")], enabled: ["llama-server": "/bin/llama-server"])
        #expect(desired[0].baseStatus.reason == "RuntimeNotEnabled")
        #expect(desired[0].baseStatus.message?.contains("not enabled on this node") == true)
    }

    @Test func specHashChangesWithTheSpecButNotWithOtherEntries() {
        let base = build([InferenceService(name: "chat", modelRef: "g"), InferenceService(name: "coder", modelRef: "x", runtime: "mlx-server")])
        let edited = build([InferenceService(name: "chat", modelRef: "g", contextSize: 4096), InferenceService(name: "coder", modelRef: "x", runtime: "mlx-server")])
        #expect(base[0].specHash != edited[0].specHash)
        #expect(base[1].specHash == edited[1].specHash)
        #expect(base[0].specHash == build([InferenceService(name: "chat", modelRef: "g")])[0].specHash)
    }

    @Test func replicasZeroIsStopped() {
        let desired = build([InferenceService(name: "chat", modelRef: "g", replicas: 0)])
        #expect(desired[0].baseStatus.phase == .Stopped)
    }
}
