import ConfigModel
import Executors
import Testing

@testable import Supervisor

@Suite struct DesiredStateTests {
    let models: [String: Model] = [
        "g": Model(name: "g", source: .path("/m/g.gguf"), format: .gguf),
        "x": Model(name: "x", source: .path("/m/x-mlx"), format: .mlx),
        "gone": Model(name: "gone", source: .path("/m/missing.gguf"), format: .gguf),
        "web": Model(name: "web", source: .remote("pvc://models/m.gguf"), format: .gguf),
    ]

    func build(
        _ services: [InferenceService], enabled: [String: String] = ["llama-server": "/bin/llama-server", "mlx-server": "/bin/mlx_lm.server"],
        reservedPorts: [Int: String] = [:]
    ) -> [DesiredService] {
        var node = NodeRuntimes(defaultRuntime: "llama-server", binaries: enabled)
        node.reservedPorts = reservedPorts
        let builder = DesiredStateBuilder(node: node)
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
        (InferenceService(name: "a", modelRef: "x"), Reason.FormatMismatch),  // mlx model on the default llama-server
        (InferenceService(name: "b", modelRef: "g", runtime: "mlx-server"), Reason.FormatMismatch),
        (InferenceService(name: "c", modelRef: "gone"), Reason.ModelNotFound),
        (InferenceService(name: "d", modelRef: "web"), Reason.UnsupportedModelSource),
    ])
    func entryErrorsFailOnlyThatEntry(service: InferenceService, reason: Reason) {
        let desired = build([service, InferenceService(name: "ok", modelRef: "g")])
        #expect(desired[0].baseStatus.phase == .Failed)
        #expect(desired[0].baseStatus.reason == reason)
        guard case .run = desired[1].action else {
            Issue.record("the healthy entry must still run")
            return
        }
    }

    /// LLMKube's `endpoint.port` defaults to 8080, which is also where the agent's gateway listens by
    /// default (a field report: an exported manifest's entry crash-looped with PortInUse).
    @Test func theAgentsOwnPortsAreNotGivenToEntries() {
        func entry(_ name: String, port: Int, source: String) -> InferenceService {
            var service = InferenceService(name: name, modelRef: "g")
            service.port = port
            service.portSource = source
            return service
        }
        let desired = build(
            [
                entry("exported", port: 8080, source: "spec.endpoint.port"), entry("container", port: 9090, source: "spec.containerPort"),
                entry("fixed", port: 8080, source: "spec.port"), entry("other", port: 8081, source: "spec.endpoint.port"),
            ],
            reservedPorts: [8080: "the agent's gateway (--gateway-listen 127.0.0.1:8080)", 9090: "the agent's operator endpoint (--listen 127.0.0.1:9090)"])
        for name in ["exported", "container"] {
            let d = desired.first { $0.name == name }
            guard case .run(let resolved, _) = d?.action else {
                Issue.record("\(name) must run")
                continue
            }
            // (The agent reads `service.port` to tell a fixed port from an assigned one.)
            #expect(resolved.port == 0 && resolved.service.port == nil, "\(name) gets an agent-assigned port")
            #expect(
                d?.warnings.contains { $0.reason == .PortConflict && $0.error.message.contains("the agent's") } == true, "\(String(describing: d?.warnings))")
        }
        let fixed = desired.first { $0.name == "fixed" }
        #expect(fixed?.baseStatus.reason == .PortInUse)
        #expect(fixed?.baseStatus.message?.contains("spec.port: port 8080 is the agent's gateway") == true, "\(fixed?.baseStatus.message ?? "")")
        guard case .run(let other, _) = desired.first(where: { $0.name == "other" })?.action else {
            Issue.record("other must run")
            return
        }
        #expect(other.port == 8081)
    }

    @Test func runtimeNotEnabledOnThisNode() {
        let desired = build([InferenceService(name: "coder", modelRef: "x", runtime: "mlx-server")], enabled: ["llama-server": "/bin/llama-server"])
        #expect(desired[0].baseStatus.reason == .RuntimeNotEnabled)
        #expect(desired[0].baseStatus.message?.contains("not enabled on this node") == true)
    }

    @Test func specHashChangesWithTheSpecButNotWithOtherEntries() {
        let base = build([InferenceService(name: "chat", modelRef: "g"), InferenceService(name: "coder", modelRef: "x", runtime: "mlx-server")])
        let edited = build([
            InferenceService(name: "chat", modelRef: "g", contextSize: 4096), InferenceService(name: "coder", modelRef: "x", runtime: "mlx-server"),
        ])
        #expect(base[0].specHash != edited[0].specHash)
        #expect(base[1].specHash == edited[1].specHash)
        #expect(base[0].specHash == build([InferenceService(name: "chat", modelRef: "g")])[0].specHash)
    }

    @Test func replicasZeroIsStopped() {
        let desired = build([InferenceService(name: "chat", modelRef: "g", replicas: 0)])
        #expect(desired[0].baseStatus.phase == .Stopped)
    }

    /// The reconcile's diff: only what changed stops or starts; an unchanged entry keeps its controller.
    @Test func theDiffTouchesOnlyWhatChanged() {
        let before = build([
            InferenceService(name: "same", modelRef: "g"), InferenceService(name: "edited", modelRef: "g"),
            InferenceService(name: "dropped", modelRef: "g"), InferenceService(name: "scaled", modelRef: "g"),
            InferenceService(name: "lost", modelRef: "g"),
        ])
        let running: [String: String] = Dictionary(uniqueKeysWithValues: before.compactMap { e in e.specHash.map { (e.name, $0) } })
        #expect(running.count == 5)
        let after = build([
            InferenceService(name: "same", modelRef: "g"), InferenceService(name: "edited", modelRef: "g", contextSize: 8192),
            InferenceService(name: "scaled", modelRef: "g", replicas: 0), InferenceService(name: "new", modelRef: "g"),
            InferenceService(name: "broken", modelRef: "gone"), InferenceService(name: "lost", modelRef: "gone"),
        ])
        let diff = ReconcileDiff(desired: after, running: running)
        let stops: [ReconcileDiff.Stop] = [
            .init(name: "dropped", why: .removed), .init(name: "edited", why: .changed), .init(name: "lost", why: .entryError),
            .init(name: "scaled", why: .notRunning),
        ]
        #expect(diff.stops == stops)
        #expect(diff.starts == ["edited", "new"])
        // Applied again with nothing changed: nothing moves.
        let settled: [String: String] = Dictionary(
            uniqueKeysWithValues: after.compactMap { e in
                guard case .run = e.action else { return nil }
                return e.specHash.map { (e.name, $0) }
            })
        let again = ReconcileDiff(desired: after, running: settled)
        #expect(again.stops.isEmpty && again.starts.isEmpty)
    }
}

/// LLMKube manifests on one node: suspend, ports from endpoint/containerPort, namespaces, companions.
@Suite struct LLMKubeDesiredStateTests {
    func build(_ yamlText: String, exists: @escaping @Sendable (String) -> Bool = { _ in true }) throws -> [DesiredService] {
        let config = try ConfigLoader.load(Array(yamlText.utf8), file: "/m/models.yaml")
        let builder = DesiredStateBuilder(node: NodeRuntimes(defaultRuntime: "llama-server", binaries: ["llama-server": "/bin/llama-server"]))
        return builder.build(config) { path in (exists(path), false) }
    }

    let header = "apiVersion: inference.llmkube.dev/v1alpha1"

    func doc(_ kind: String, _ meta: String, _ spec: String) -> String {
        "\(header)\nkind: \(kind)\nmetadata: \(meta)\nspec: \(spec)\n---\n"
    }

    @Test func suspendStopsTheEntryLikeReplicasZero() throws {
        let desired = try build(
            doc("Model", "{name: m}", "{source: /m/m.gguf}")
                + doc("InferenceService", "{name: a}", "{modelRef: m, suspend: true}")
                + doc("InferenceService", "{name: b}", "{modelRef: m, replicas: 0}")
                + doc("InferenceService", "{name: c}", "{modelRef: m, suspend: false}"))
        #expect(desired.map(\.baseStatus.reason) == [.Suspended, .ScaledToZero, nil])
        #expect(desired.map(\.baseStatus.phase) == [.Stopped, .Stopped, .Pending])
    }

    @Test func portComesFromSpecThenAnnotationThenEndpointThenContainerPort() throws {
        let desired = try build(
            doc("Model", "{name: m}", "{source: /m/m.gguf}")
                + doc("InferenceService", "{name: a}", "{modelRef: m, port: 9001, endpoint: {port: 9002}, containerPort: 9003}")
                + doc("InferenceService", "{name: b, annotations: {metal-agent.llmkube.dev/port: \"9011\"}}", "{modelRef: m, endpoint: {port: 9012}}")
                + doc("InferenceService", "{name: c}", "{modelRef: m, endpoint: {port: 9022}, containerPort: 9023}")
                + doc("InferenceService", "{name: d}", "{modelRef: m, containerPort: 9033}")
                + doc("InferenceService", "{name: e}", "{modelRef: m, endpoint: {type: NodePort}}"))
        let ports = desired.map { entry -> Int? in
            if case .run(let r, _) = entry.action { return r.service.port }
            return -1
        }
        #expect(ports == [9001, 9011, 9022, 9033, nil])
    }

    @Test func bindAddressIsTheHostOfThatEntryOnly() throws {
        let desired = try build(
            doc("Model", "{name: m}", "{source: /m/m.gguf}")
                + doc("InferenceService", "{name: a}", "{modelRef: m, bindAddress: 0.0.0.0}")
                + doc("InferenceService", "{name: b}", "{modelRef: m}"))
        let hosts = desired.compactMap { entry -> String? in
            if case .run(let r, let executor) = entry.action { return executor.launch(r).host }
            return nil
        }
        #expect(hosts == ["0.0.0.0", "127.0.0.1"])
    }

    @Test func namesAreScopedByNamespaceAndModelRefResolvesInItsOwn() throws {
        let desired = try build(
            doc("Model", "{name: m, namespace: dev}", "{source: /m/dev.gguf}")
                + doc("Model", "{name: m}", "{source: /m/default.gguf}")
                + doc("InferenceService", "{name: s, namespace: dev}", "{modelRef: m}")
                + doc("InferenceService", "{name: s}", "{modelRef: m}")
                + doc("InferenceService", "{name: s, namespace: prod}", "{modelRef: m}"))
        #expect(desired.map(\.name) == ["dev/s", "s", "prod/s"])
        #expect(desired.map(\.baseStatus.namespace) == ["dev", "default", "prod"])
        #expect(desired.map(\.baseStatus.modelPath) == ["/m/dev.gguf", "/m/default.gguf", nil])
        #expect(desired.map(\.baseStatus.reason) == [nil, nil, .ModelNotFound])
    }

    @Test func overriddenFlagWarnsOnlyForFlagsThisLaunchSets() throws {
        let desired = try build(
            doc("Model", "{name: m}", "{source: /m/m.gguf}")
                + doc("InferenceService", "{name: a}", "{modelRef: m, extraArgs: [\"--cache-type-k\", q8_0, \"-c\", \"512\", \"--parallel\", \"2\"]}")
                + doc("InferenceService", "{name: b}", "{modelRef: m, cacheTypeK: f16, extraArgs: [\"-ctk\", q8_0]}")
                + doc("InferenceService", "{name: c}", "{modelRef: m, extraArgs: [\"--ctx_size\", \"777\", \"--ctx-size\", \"777\"]}"))
        let flagged = desired.map { $0.warnings.filter { $0.reason == .OverriddenFlag }.map(\.error.message) }
        // a: only -c (the agent always sets --ctx-size); it sets no cache type and no --parallel here.
        #expect(flagged[0].count == 1 && flagged[0][0].hasPrefix("\"-c\" repeats a flag the agent sets"))
        // b: -ctk is llama-server's short spelling of the --cache-type-k the agent set.
        #expect(flagged[1].count == 1 && flagged[1][0].hasPrefix("\"-ctk\" repeats"))
        // c: llama-server reads --ctx_size as --ctx-size (`_` is `-` in a `--` flag); one warning for both spellings.
        #expect(flagged[2].count == 1 && flagged[2][0].hasPrefix("\"--ctx_size\" repeats"), "\(flagged[2])")
        // At the field's place: c's spec is line 19 (four lines and `---` per document).
        let warning = try #require(desired[2].warnings.first { $0.reason == .OverriddenFlag })
        #expect(warning.error.field == "InferenceService \"c\" spec.extraArgs")
        #expect(warning.error.description.hasPrefix("/m/models.yaml:19:"), "\(warning.error.description)")
    }

    @Test func draftModelRefAndMmprojResolveToLocalFiles() throws {
        let text =
            doc("Model", "{name: m}", "{source: /m/m.gguf, mmproj: proj/mm.gguf}")
            + doc("Model", "{name: d}", "{source: /m/d.gguf}")
            + doc("InferenceService", "{name: a}", "{modelRef: m, speculativeDecoding: {type: draft-simple, draftModelRef: d}}")
            + doc("InferenceService", "{name: b}", "{modelRef: m, speculativeDecoding: {type: draft-eagle3, draftModel: eagle.gguf}}")
        let desired = try build(text)
        let args = desired.compactMap { entry -> [String]? in
            if case .run(let r, let executor) = entry.action { return executor.launch(r).arguments }
            return nil
        }
        #expect(args.count == 2)
        #expect(args[0].contains("/m/proj/mm.gguf") && args[0].contains("/m/d.gguf"))
        #expect(args[1].contains("/m/eagle.gguf"))
        // A missing companion file fails the entry (the model waits for it), not the file.
        let missing = try build(text) { !$0.hasSuffix("eagle.gguf") }
        #expect(missing.map(\.baseStatus.reason) == [nil, .ModelNotFound])
    }
}
