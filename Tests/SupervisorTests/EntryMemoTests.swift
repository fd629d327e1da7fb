import ConfigModel
import Executors
import Synchronization
import Testing

@testable import Supervisor

/// The builder resolves again only the entries whose inputs changed, and gives what a fresh builder gives.
@Suite struct EntryMemoTests {
    let models: [String: Model] = [
        "g": Model(name: "g", source: .path("/m/g.gguf"), format: .gguf),
        "h": Model(name: "h", source: .path("/m/h.gguf"), format: .gguf),
    ]

    /// A file system of `files` (path -> is a folder) that counts the checks made.
    final class Files: Sendable {
        let present = Mutex<[String: Bool]>([:])
        init(_ files: [String: Bool]) { present.withLock { $0 = files } }
        var check: DesiredStateBuilder.FileCheck {
            { path in self.present.withLock { $0[path].map { (true, $0) } ?? (false, false) } }
        }
    }

    func fingerprint(_ desired: [DesiredService]) -> [String] {
        desired.map { "\($0.name) \($0.baseStatus.phase) \($0.baseStatus.reason.map { "\($0)" } ?? "-") \($0.specHash ?? "-") \($0.warnings.count)" }
    }

    @Test func unchangedEntriesAreNotResolvedAgainAndTheResultIsAFreshBuildsResult() {
        let node = NodeRuntimes(defaultRuntime: "llama-server", binaries: ["llama-server": "/bin/llama-server"])
        let builder = DesiredStateBuilder(node: node)
        let files = Files(["/m/g.gguf": false, "/m/h.gguf": false])
        var services = (0..<20).map { InferenceService(name: "e\($0)", modelRef: $0 % 2 == 0 ? "g" : "h") }
        func config() -> AgentConfig { AgentConfig(file: "/m/models.yaml", models: models, services: services) }
        func fresh() -> [String] { fingerprint(DesiredStateBuilder(node: builder.node).build(config(), fileExists: files.check)) }

        #expect(fingerprint(builder.build(config(), fileExists: files.check)) == fresh())
        #expect(builder.memo.lastResolved == 20)
        #expect(fingerprint(builder.build(config(), fileExists: files.check)) == fresh())
        #expect(builder.memo.lastResolved == 0)

        // One entry edited: one resolved.
        services[3].port = 9000
        #expect(fingerprint(builder.build(config(), fileExists: files.check)) == fresh())
        #expect(builder.memo.lastResolved == 1)

        // A model file goes: every entry that checked it is resolved again, and fails.
        files.present.withLock { $0["/m/h.gguf"] = nil }
        let gone = builder.build(config(), fileExists: files.check)
        #expect(fingerprint(gone) == fresh())
        #expect(builder.memo.lastResolved == 10)
        #expect(gone.filter { $0.baseStatus.reason == .ModelNotFound }.count == 10)

        // It comes back; the Model changes; the node's versions change.
        files.present.withLock { $0["/m/h.gguf"] = false }
        #expect(fingerprint(builder.build(config(), fileExists: files.check)) == fresh())
        #expect(builder.memo.lastResolved == 10)
        var changed = models
        changed["g"]?.format = .gguf
        changed["g"]?.sha256 = String(repeating: "a", count: 64)
        let withModel = AgentConfig(file: "/m/models.yaml", models: changed, services: services)
        _ = builder.build(withModel, fileExists: files.check)
        #expect(builder.memo.lastResolved == 10)
        var upgraded = builder
        upgraded.node.versions["llama-server"] = RuntimeVersion.parse("version: 6325 (0123abcd)")
        _ = upgraded.build(withModel, fileExists: files.check)
        #expect(upgraded.memo.lastResolved == 20)
    }
}
