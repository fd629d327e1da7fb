import ConfigModel
import Foundation
import Testing

/// Builds a config file from documents, each given as YAML text.
func yaml(_ documents: String...) -> [UInt8] { Array(documents.joined(separator: "\n---\n").utf8) }

let header = "apiVersion: inference.llmkube.dev/v1alpha1"

let ggufModel = """
    \(header)
    kind: Model
    metadata:
      name: tiny
    spec:
      source: models/tiny.gguf
    """

func service(_ name: String = "chat", _ spec: String = "") -> String {
    """
    \(header)
    kind: InferenceService
    metadata:
      name: \(name)
    spec:
      modelRef: tiny
    \(spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    """
}

func loadErrors(_ bytes: [UInt8], file: String = "/etc/ma/models.yaml") -> [ConfigError] {
    do {
        _ = try ConfigLoader.load(bytes, file: file)
        return []
    } catch {
        return error.errors
    }
}

@Suite struct ConfigLoaderTests {
    @Test func loadsModelsAndServicesInFileOrder() throws {
        let config = try ConfigLoader.load(
            yaml(ggufModel, service("b-svc", "runtime: mlx-server\nport: 9000"), service("a-svc", "contextSize: 4096\nreplicas: 0")),
            file: "/etc/ma/models.yaml")
        #expect(config.services.map(\.name) == ["b-svc", "a-svc"])
        #expect(config.models["tiny"]?.source == .path("/etc/ma/models/tiny.gguf"))
        #expect(config.models["tiny"]?.format == .gguf)
        #expect(config.services[0].runtime == "mlx-server")
        #expect(config.services[0].port == 9000)
        #expect(config.services[1].runtime == nil)
        #expect(config.services[1].contextSize == 4096)
        #expect(config.services[1].replicas == 0)
    }

    @Test func readsEveryServiceField() throws {
        let spec = """
            runtime: llamacpp
            contextSize: 8192
            parallelSlots: 4
            flashAttention: true
            jinja: false
            extraArgs: ["--threads", "2"]
            env:
              - name: GGML_METAL_DEBUG
                value: "1"
            port: 8081
            terminationGracePeriodSeconds: 5
            """
        let s = try ConfigLoader.load(yaml(ggufModel, service("chat", spec)), file: "m.yaml").services[0]
        #expect(s.runtime == "llama-server")  // alias canonicalised
        #expect(s.parallelSlots == 4)
        #expect(s.flashAttention == true)
        #expect(s.jinja == false)
        #expect(s.extraArgs == ["--threads", "2"])
        #expect(s.env == [EnvVar(name: "GGML_METAL_DEBUG", value: "1")])
        #expect(s.terminationGracePeriodSeconds == 5)
    }

    @Test(arguments: [
        ("/abs/path/m.gguf", "/abs/path/m.gguf"),
        ("file:///srv/m.gguf", "/srv/m.gguf"),
        ("sub/m.gguf", "/etc/ma/sub/m.gguf"),
        ("models/v1.2/m.gguf", "/etc/ma/models/v1.2/m.gguf"),
    ])
    func resolvesModelSources(written: String, resolved: String) throws {
        let model = ggufModel.replacingOccurrences(of: "models/tiny.gguf", with: written)
        let config = try ConfigLoader.load(yaml(model), file: "/etc/ma/models.yaml")
        #expect(config.models["tiny"]?.source == .path(resolved))
    }

    @Test(arguments: ["/srv/my models/m.gguf", "", "-m.gguf"])
    func sourcesTheCRDRejectsAreFileErrors(written: String) {
        // The CRD's pattern: a URL of a known scheme, an absolute path without spaces, or a relative path
        // starting with a letter or digit. What a cluster rejects is rejected here too, except the
        // node-local spellings of a path (./, ../, ~/), accepted below.
        let model = ggufModel.replacingOccurrences(of: "models/tiny.gguf", with: "\"\(written)\"")
        let errors = loadErrors(yaml(model))
        #expect(errors.map(\.field) == ["Model \"tiny\" spec.source"])
    }

    @Test func nodeLocalSpellingsOfAPathAreAccepted() throws {
        for (written, expected) in [("./m.gguf", ModelSource.path("/etc/ma/m.gguf")), ("../m.gguf", .path("/etc/m.gguf")), ("~/m.gguf", .home("m.gguf"))] {
            let model = ggufModel.replacingOccurrences(of: "models/tiny.gguf", with: written)
            #expect(try ConfigLoader.load(yaml(model), file: "/etc/ma/models.yaml").models["tiny"]?.source == expected, "\(written)")
        }
    }

    @Test func urlSourcesAreTyped() throws {
        let model = ggufModel.replacingOccurrences(of: "models/tiny.gguf", with: "https://huggingface.co/x/y.gguf")
        #expect(try ConfigLoader.load(yaml(model), file: "m.yaml").models["tiny"]?.source == .http("https://huggingface.co/x/y.gguf"))
        let s3 = ggufModel.replacingOccurrences(of: "models/tiny.gguf", with: "s3://bucket/y.gguf")
        #expect(try ConfigLoader.load(yaml(s3), file: "m.yaml").models["tiny"]?.source == .remote("s3://bucket/y.gguf"))
    }

    @Test func aFileURLWithAForeignHostIsAFileErrorAtTheField() throws {
        let model = ggufModel.replacingOccurrences(of: "models/tiny.gguf", with: "file://nas.local/srv/m.gguf")
        do {
            _ = try ConfigLoader.load(yaml(model), file: "/etc/ma/models.yaml")
            Issue.record("a file:// URL naming another host must be rejected")
        } catch {
            let first = try #require(error.errors.first)
            #expect(first.field == "Model \"tiny\" spec.source")
            #expect(first.message.contains("names host \"nas.local\""))
        }
    }

    @Test func skipsEmptyDocuments() throws {
        let bytes = Array("---\n\(ggufModel)\n---\n---\n\(service())\n".utf8)
        #expect(try ConfigLoader.load(bytes, file: "m.yaml").services.count == 1)
    }

    @Test func unknownFieldNamesLineColumnFieldAndSuggestion() {
        let errors = loadErrors(yaml(ggufModel, service("coder", "runtme: mlx-server")))
        #expect(errors.count == 1)
        let e = errors[0]
        #expect(e.file == "/etc/ma/models.yaml")
        #expect(e.line == 14)
        #expect(e.column == 3)
        #expect(e.field == "InferenceService \"coder\" spec.runtme")
        #expect(e.message.contains("unknown field \"runtme\"; did you mean \"runtime\"?"))
        #expect(e.description.hasPrefix("/etc/ma/models.yaml:14:3: InferenceService \"coder\" spec.runtme: "))
    }

    @Test func quotedPortIsNotAnInteger() {
        let errors = loadErrors(yaml(ggufModel, service("chat", "port: \"8080\"")))
        #expect(errors.map(\.field) == ["InferenceService \"chat\" spec.port"])
        #expect(errors[0].message == "expected an integer, found a string (\"8080\")")
        #expect(errors[0].line == 14 && errors[0].column == 9)
    }

    /// `yes` is a boolean, as kubectl reads it (`KubernetesYAMLTests`); a quoted `"true"` or another
    /// word is not.
    @Test(arguments: ["\"true\"", "maybe", "1"])
    func aQuotedTrueOrAnotherWordIsNotABoolean(value: String) throws {
        let errors = loadErrors(yaml(ggufModel, service("chat", "jinja: \(value)")))
        #expect(errors.map(\.field) == ["InferenceService \"chat\" spec.jinja"])
        #expect(try #require(errors.first).message.contains("expected true or false"))
    }

    @Test func unknownRuntimeGetsSuggestion() {
        let errors = loadErrors(yaml(ggufModel, service("chat", "runtime: mlx-sever")))
        #expect(errors.count == 1)
        #expect(errors[0].field == "InferenceService \"chat\" spec.runtime")
        #expect(errors[0].message.contains("did you mean \"mlx-server\"?"))
    }

    @Test func runtimeNamesAreCaseSensitive() {
        #expect(loadErrors(yaml(ggufModel, service("chat", "runtime: LLAMA-SERVER"))).count == 1)
    }

    @Test func reportsEveryErrorAtOnceInFileOrder() {
        let errors = loadErrors(yaml(ggufModel, service("a", "contextSize: big"), service("b", "replicas: 11\nmodelRef2: x")))
        #expect(
            errors.map(\.field) == [
                "InferenceService \"a\" spec.contextSize",
                "InferenceService \"b\" spec.replicas",
                "InferenceService \"b\" spec.modelRef2",
            ])
        #expect(errors.map(\.line) == errors.map(\.line).sorted())
    }

    @Test func duplicateNamesAreErrors() {
        let errors = loadErrors(yaml(ggufModel, service("chat"), service("chat")))
        #expect(errors.count == 1)
        #expect(errors[0].field == "InferenceService \"chat\" metadata.name")
        #expect(errors[0].message.contains("duplicate InferenceService name \"chat\" (first defined at line 8)"))
        #expect(errors[0].line == 19 && errors[0].column == 9)  // the duplicate metadata.name
    }

    @Test func duplicateKeysInOneMappingAreErrors() {
        let errors = loadErrors(yaml(ggufModel, service("chat", "port: 1\nport: 2")))
        #expect(errors.map(\.field) == ["InferenceService \"chat\" spec.port"])
        #expect(errors[0].message.contains("duplicate key"))
    }

    /// `spec.bindAddress` must be numeric, as `--host` is: the agent checks the port and probes the runtime
    /// at that address (a host name gave a PortInUse loop on a free port).
    @Test func aBindAddressThatIsNotAnIPAddressIsRejectedWhereItIsWritten() throws {
        let text = yaml(ggufModel, service("chat", "bindAddress: localhost"))
        let line =
            try #require(
                String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("bindAddress") }) + 1
        let errors = loadErrors(text)
        let error = try #require(errors.first)
        #expect(errors.count == 1)
        #expect(error.field.hasSuffix("spec.bindAddress") && error.field.contains("chat"), "\(error)")
        #expect(error.message.contains("\"localhost\" is not an IP address"), "\(error)")
        #expect(error.line == line && error.column > 1 && error.file == "/etc/ma/models.yaml", "\(error)")
        for address in ["127.0.0.1", "0.0.0.0", "::1", "::ffff:127.0.0.1"] {
            let config = try ConfigLoader.load(yaml(ggufModel, service("chat", "bindAddress: \"\(address)\"")), file: "m.yaml")
            #expect(config.services.first?.bindAddress == address)
        }
    }

    @Test func modelRefToNoModelIsNotAFileError() throws {
        // As in a cluster, the Model may come later or from another file: an entry error (ModelNotFound), see DesiredStateTests.
        let config = try ConfigLoader.load(yaml(ggufModel, service("chat").replacingOccurrences(of: "modelRef: tiny", with: "modelRef: tinny")), file: "m.yaml")
        #expect(config.services.map(\.modelRef) == ["tinny"])
        #expect(config.model(for: config.services[0]) == nil)
    }

    @Test(arguments: ["Chat", "chat_1", "-chat", "chat-", "chat..v1", "chat.-v1", ".chat", String(repeating: "a", count: 254)])
    func rejectsNamesThatAreNotDNS1123Subdomains(name: String) {
        let errors = loadErrors(yaml(ggufModel, service("\"\(name)\"")))
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("is not a DNS-1123 subdomain") == true)
    }

    @Test(arguments: ["chat.v1", "llama-3.2-1b", String(repeating: "a", count: 64), String(repeating: "a.", count: 126) + "a"])
    func acceptsDNS1123SubdomainNames(name: String) throws {
        let config = try ConfigLoader.load(yaml(ggufModel, service(name)), file: "m.yaml")
        #expect(config.services.map(\.name) == [name])
    }

    @Test func twoServicesOnOneFixedPort() {
        let errors = loadErrors(yaml(ggufModel, service("a", "port: 9000"), service("b", "port: 9000")))
        #expect(errors.map(\.field) == ["InferenceService \"b\" spec.port"])
        #expect(errors[0].message.contains("already the fixed port of InferenceService \"a\""))
    }

    @Test func yamlSyntaxErrorHasPosition() {
        let errors = loadErrors(Array("\(header)\nkind: Model\nmetadata: {name: x\nspec: {}\n".utf8))
        #expect(errors.count == 1)
        #expect(errors[0].line == 4)
        #expect(errors[0].message.hasPrefix("YAML syntax error"))
    }

    @Test func wrongApiVersionAndUnknownKind() {
        let errors = loadErrors(
            yaml(
                ggufModel.replacingOccurrences(of: "v1alpha1", with: "v1"),
                service().replacingOccurrences(of: "kind: InferenceService", with: "kind: InferenceServce")))
        #expect(errors.count == 2)
        #expect(errors[0].message.contains("expected \"inference.llmkube.dev/v1alpha1\", found \"inference.llmkube.dev/v1\""))
        #expect(errors[1].message.contains("did you mean \"InferenceService\"?"))
    }

    @Test func aliasBombIsRejectedQuickly() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let errors = loadErrors(Array(text.utf8))
        #expect(errors.count == 1)
        #expect(errors[0].message.contains("alias bomb"))
    }

    @Test func nonMappingDocumentIsAnError() {
        let errors = loadErrors(Array("- a\n- b\n".utf8))
        #expect(errors.count == 1)
        #expect(errors[0].message == "expected a mapping, found a list")
        #expect(errors[0].line == 1 && errors[0].column == 1)
    }

    @Test func invalidUTF8IsASyntaxError() {
        let errors = loadErrors([0x6B, 0x3A, 0x20, 0xFF, 0xFE, 0x0A])
        #expect(errors.count == 1)
        #expect(errors[0].message.hasPrefix("YAML syntax error"))
    }

    @Test func deepNestingStopsAtTheLimitWithoutParsingTheRest() {
        // 200,000 nested flow lists: libyaml's document loader needs minutes for this; the event reader stops at level 65.
        let bytes = Array(("a: " + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)).utf8)
        let errors = loadErrors(bytes)
        #expect(errors.count == 1)
        #expect(errors[0].message == "YAML syntax error: nesting deeper than 64 levels")
        #expect(errors[0].line == 1 && errors[0].column == 67)
    }

    @Test func undefinedAliasIsAnError() {
        let errors = loadErrors(Array("a: *nothing\n".utf8))
        #expect(errors.count == 1)
        #expect(errors[0].message.contains("alias *nothing names no anchor"))
    }

    @Test func aliasesWorkWithinOneDocumentOnly() throws {
        let within = ggufModel + "\n---\n" + service("a", "extraArgs: &common [\"--threads\", \"2\"]\nenv: [{name: X, value: *common}]")
        // Same document: resolved (and here a list where a string belongs, so a type error at the alias).
        let errors = loadErrors(Array(within.utf8))
        #expect(errors.map(\.field) == ["InferenceService \"a\" spec.env[0].value"])
        #expect(errors[0].message == "expected a string, found a list")
        // Another document: YAML anchors do not cross documents.
        let across = ggufModel + "\n---\n" + service("a", "extraArgs: &common [\"x\"]") + "\n---\n" + service("b", "extraArgs: *common")
        #expect(loadErrors(Array(across.utf8)).first?.message.contains("alias *common names no anchor") == true)
    }

    @Test func explicitStringTagMakesANumberAString() throws {
        let model = ggufModel + "\n  sha256: !!str " + String(repeating: "1", count: 64)
        #expect(try ConfigLoader.load(Array(model.utf8), file: "m.yaml").models["tiny"]?.sha256 == String(repeating: "1", count: 64))
    }

    @Test func emptyFileIsAnErrorNotRunNothing() {
        for text in ["", "# just a comment\n", "---\n---\n"] {
            let errors = loadErrors(Array(text.utf8))
            #expect(errors.count == 1)
            #expect(errors.first?.message.hasPrefix("the file has no documents") == true)
        }
    }

    @Test func fileOverTheSizeLimitIsRejectedBeforeParsing() {
        let bytes = [UInt8](repeating: 0x23, count: ConfigLoader.maxFileBytes + 1)  // '#' * (1 MiB + 1)
        let errors = loadErrors(bytes)
        #expect(errors.map(\.message) == ["file is 1048577 bytes; the limit is 1048576 bytes"])
        #expect(errors.first?.line == 1 && errors.first?.column == 1)
    }
}

/// Kubernetes object rules and the CRD's rules, beyond the fixtures.
@Suite struct KubernetesObjectTests {
    @Test func aBadMetadataDoesNotHideTheSpecsErrors() {
        let text = """
            \(header)
            kind: InferenceService
            metadata: {name: Bad_Name}
            spec: {modelRef: tiny, contextSize: 1, runtme: x}
            ---
            \(header)
            kind: InferenceService
            spec: {modelRef: tiny, parallelSlots: 0}
            """
        let errors = loadErrors(Array(text.utf8))
        #expect(
            errors.map(\.field) == [
                "InferenceService \"Bad_Name\" metadata.name",
                "InferenceService spec.contextSize",
                "InferenceService spec.runtme",
                "InferenceService metadata",
                "InferenceService spec.parallelSlots",
            ])
    }

    @Test func nullMeansNotSet() throws {
        let text = """
            \(header)
            kind: Model
            metadata: {name: tiny, labels: null, annotations: ~}
            spec: {source: models/tiny.gguf, sha256: null, hardware: {gpu: }}
            ---
            \(header)
            kind: InferenceService
            metadata: {name: chat, namespace: null}
            spec:
              modelRef: tiny
              env:
              extraArgs:
              contextSize: null
              endpoint:
            """
        let config = try ConfigLoader.load(Array(text.utf8), file: "/m/models.yaml")
        let s = try #require(config.services.first)
        #expect(s.env.isEmpty && s.extraArgs.isEmpty && s.contextSize == nil && s.port == nil && s.namespace == "default")
        // Required fields are not "not set" when null: they are missing.
        #expect(
            loadErrors(yaml(ggufModel.replacingOccurrences(of: "source: models/tiny.gguf", with: "source: null"))).map(\.message)
                == ["missing required field \"source\" (a path, or a file:// URL)"])
    }

    @Test func agentOnlyFieldsHaveAnnotationSpellings() throws {
        let text = """
            \(header)
            kind: Model
            metadata: {name: tiny}
            spec: {source: models/tiny.gguf}
            ---
            \(header)
            kind: InferenceService
            metadata:
              name: chat
              annotations:
                metal-agent.llmkube.dev/port: "8090"
                metal-agent.llmkube.dev/restartPolicy: Never
                metal-agent.llmkube.dev/terminationGracePeriodSeconds: "5"
                metal-agent.llmkube.dev/startupTimeoutSeconds: "90"
                metal-agent.llmkube.dev/runtime: mlx-server
                other.example/port: "1"
            spec: {modelRef: tiny, runtime: llamacpp}
            """
        // spec.runtime llamacpp and the annotation mlx-server disagree: an error.
        #expect(loadErrors(Array(text.utf8)).map(\.field) == ["InferenceService \"chat\" metadata.annotations[metal-agent.llmkube.dev/runtime]"])
        let config = try ConfigLoader.load(Array(text.replacingOccurrences(of: ", runtime: llamacpp", with: "").utf8), file: "/m/models.yaml")
        let s = try #require(config.services.first)
        #expect(s.port == 8090 && s.restartPolicy == .Never && s.terminationGracePeriodSeconds == 5 && s.startupTimeoutSeconds == 90)
        #expect(s.runtime == "mlx-server")
        // The same value in both places is fine.
        let both = text.replacingOccurrences(of: ", runtime: llamacpp", with: ", port: 8090, runtime: mlx-server")
        #expect(try ConfigLoader.load(Array(both.utf8), file: "/m/models.yaml").services.first?.port == 8090)
    }

    @Test func mergeKeepsFilesApartAndRejectsOnlyTheClashingOne() throws {
        let a = try ConfigLoader.parse(yaml(ggufModel, service("a", "port: 9000")), file: "/m/a.yaml")
        let b = try ConfigLoader.parse(yaml(service("b", "port: 9000")), file: "/m/b.yaml")
        let c = try ConfigLoader.parse(yaml(service("c")), file: "/m/c.yaml")
        let merged = ConfigLoader.merge([a, b, c])
        #expect(merged.config.services.map(\.name) == ["a", "c"])
        #expect(merged.rejected.keys.sorted() == ["/m/b.yaml"])
        #expect(merged.rejected["/m/b.yaml"]?.first?.message == "port 9000 is already the fixed port of InferenceService \"a\"")
        // c's modelRef resolves to a's Model across files.
        #expect(merged.config.model(for: merged.config.services[1])?.name == "tiny")
    }
}

@Suite struct KubectlListTests {
    @Test func aV1ListOfObjectsIsReadItemByItem() throws {
        // `kubectl get models,inferenceservices -o yaml` prints one v1 List.
        let text = """
            apiVersion: v1
            kind: List
            metadata: {resourceVersion: ""}
            items:
            - apiVersion: inference.llmkube.dev/v1alpha1
              kind: Model
              metadata: {name: tiny, namespace: default, uid: 1b2c, generation: 1}
              spec: {source: models/tiny.gguf}
              status: {phase: Ready}
            - apiVersion: inference.llmkube.dev/v1alpha1
              kind: InferenceService
              metadata: {name: chat, namespace: default, resourceVersion: "42"}
              spec: {modelRef: tiny, contextSize: 4096, contextSiz: 1}
            """
        let errors = loadErrors(Array(text.utf8))
        // Errors inside an item point into the list.
        #expect(
            errors.map(\.description) == [
                "/etc/ma/models.yaml:13:45: InferenceService \"chat\" spec.contextSiz: unknown field \"contextSiz\"; did you mean \"contextSize\"? (known: \(SpecFields.inferenceService.map(\.name).joined(separator: ", ")))"
            ])
        let config = try ConfigLoader.load(Array(text.replacingOccurrences(of: ", contextSiz: 1", with: "").utf8), file: "/m/models.yaml")
        #expect(config.services.map(\.name) == ["chat"] && config.services[0].contextSize == 4096)
        #expect(config.models.keys.sorted() == ["tiny"])
    }
}
