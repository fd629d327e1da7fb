import ConfigModel
import Testing

/// YAML that kubectl accepts (it reads YAML with go-yaml, in YAML 1.1's forms) means the same here:
/// merge keys (`<<: *base`), tags, and YAML 1.1's integers and booleans.
@Suite struct KubernetesYAMLTests {
    static let file = "/etc/ma/models.yaml"

    /// Anchors live within one document: entries share one in a `v1` `List`, as `kubectl get -o yaml`
    /// writes several objects (a field report: `<<: *base` was an unknown field "<<").
    static func list(_ items: String...) -> [UInt8] {
        Array(
            (["apiVersion: v1", "kind: List", "items:"]
                + items.map { item in
                    let lines = item.split(separator: "\n", omittingEmptySubsequences: false)
                    return (["- " + lines[0]] + lines.dropFirst().map { "  " + $0 }).joined(separator: "\n")
                }).joined(separator: "\n").utf8)
    }

    static let model = "\(header)\nkind: Model\nmetadata: {name: tiny}\nspec: {source: models/tiny.gguf}"

    @Test func entriesShareAnAnchoredSpecAndOverrideAField() throws {
        let text = Self.list(
            Self.model,
            "\(header)\nkind: InferenceService\nmetadata: {name: a}\nspec: &base\n  modelRef: tiny\n  contextSize: 4096\n  jinja: true\n  port: 8101",
            "\(header)\nkind: InferenceService\nmetadata: {name: b}\nspec:\n  <<: *base\n  port: 8102",
            "\(header)\nkind: InferenceService\nmetadata: {name: c}\nspec: {<<: *base, port: 8103, contextSize: 1024}")
        let config = try ConfigLoader.load(text, file: Self.file)
        #expect(config.services.map(\.name) == ["a", "b", "c"])
        #expect(config.services.map(\.port) == [8101, 8102, 8103])
        #expect(config.services.map(\.contextSize) == [4096, 4096, 1024])
        #expect(config.services.allSatisfy { $0.modelRef == "tiny" && $0.jinja == true })
    }

    @Test func ofSeveralMergedMappingsTheFirstWinsAndTheEntryItselfWinsOverAll() throws {
        let text = """
            \(ggufModel)
            ---
            \(header)
            kind: InferenceService
            metadata: {name: chat}
            spec:
              modelRef: tiny
              <<: [{contextSize: 512, parallelSlots: 1}, {contextSize: 8192, parallelSlots: 8, jinja: true}]
              parallelSlots: 2
            """
        let config = try ConfigLoader.load(Array(text.utf8), file: Self.file)
        #expect(config.services[0].contextSize == 512)
        #expect(config.services[0].parallelSlots == 2)
        #expect(config.services[0].jinja == true)
    }

    @Test func aMergedFieldsErrorPointsAtTheAnchoredText() throws {
        let text = Self.list(
            Self.model,
            "\(header)\nkind: InferenceService\nmetadata: {name: a}\nspec: &base\n  modelRef: tiny\n  contextSize: big",
            "\(header)\nkind: InferenceService\nmetadata: {name: b}\nspec: {<<: *base, port: 8102}")
        let errors = loadErrors(text)
        #expect(errors.count == 2, "\(errors)")
        // Both entries' errors name the line that holds `contextSize: big` (line 13 of the list).
        #expect(errors.allSatisfy { $0.line == 13 && $0.field.hasSuffix("spec.contextSize") }, "\(errors)")
    }

    @Test(arguments: ["<<: 5", "<<: [*base, 5]", "<<: [[a]]"])
    func aMergeOfSomethingElseThanMappingsIsAnError(merge: String) {
        let text = """
            \(ggufModel)
            ---
            \(header)
            kind: InferenceService
            metadata: {name: a}
            spec: &base
              modelRef: tiny
            ---
            x: &base {a: 1}
            y:
              \(merge)
            """
        let errors = loadErrors(Array(text.utf8))
        #expect(errors.count == 1 && errors[0].message.contains("merge key"), "\(errors)")
        // At the merged value, in the file.
        #expect(errors.first?.file == Self.file && errors.first?.line == 16, "\(errors)")
    }

    @Test func aMergedKeyGivesWayToTheSameKeyQuotedOtherwise() throws {
        let text = Self.list(
            Self.model,
            "\(header)\nkind: InferenceService\nmetadata: {name: a}\nspec: &base {modelRef: tiny, \"port\": 18109, contextSize: 512}",
            "\(header)\nkind: InferenceService\nmetadata: {name: b}\nspec: {<<: *base, port: 18101, \"contextSize\": 4096}")
        let config = try ConfigLoader.load(text, file: Self.file)
        #expect(config.services.map(\.port) == [18109, 18101])
        #expect(config.services.map(\.contextSize) == [512, 4096])
    }

    @Test func aStrTaggedValueIsNamedAString() {
        let errors = loadErrors(yaml(ggufModel, service("chat", "jinja: !!str true\ncontextSize: !!str 4096")))
        #expect(
            errors.map(\.message).sorted() == ["expected an integer, found a string (\"4096\")", "expected true or false, found a string (\"true\")"],
            "\(errors)")
    }

    @Test func aQuotedLessLessIsAnOrdinaryKey() {
        let errors = loadErrors(yaml(ggufModel, service("chat", "'<<': {port: 1}")))
        #expect(errors.count == 1 && errors[0].message.contains("unknown field \"<<\""), "\(errors)")
    }

    @Test func integersAndBooleansInTheFormsKubectlReads() throws {
        let spec = """
            contextSize: 0x1000
            parallelSlots: 0o4
            port: !!int "8101"
            terminationGracePeriodSeconds: 1_0
            jinja: yes
            flashAttention: Off
            """
        let config = try ConfigLoader.load(yaml(ggufModel, service("chat", spec)), file: Self.file)
        let chat = config.services[0]
        #expect(chat.contextSize == 4096)
        #expect(chat.parallelSlots == 4)
        #expect(chat.port == 8101)
        #expect(chat.terminationGracePeriodSeconds == 10)
        #expect(chat.jinja == true)
        #expect(chat.flashAttention == false)
    }

    @Test(arguments: [
        ("42", 42), ("+42", 42), ("-42", -42), ("1_000", 1000), ("0x1F", 31), ("0X1f", 31), ("-0x10", -16), ("0o17", 15), ("0b101", 5),
        ("010", 8), ("08080", 8080), ("0", 0), ("-0", 0), ("00", 0), ("4096.0", 4096), ("4e3", 4000), ("0.5e4", 5000), (".5e4", 5000),
        ("1_e3", 1000), ("-2.0", -2),
    ])
    func integerForms(text: String, value: Int) {
        #expect(KubernetesScalar.integer(text) == value)
    }

    @Test(arguments: [
        "", "-", "0x", "1.5", "12a", "0x1g", "++1", "+-1", "0b2", "99999999999999999999", " 1", "٣", "_4096", "_0x1000", "1e", "1.5e0", ".", "e3", "inf",
        ".inf",
    ])
    func notIntegers(text: String) {
        #expect(KubernetesScalar.integer(text) == nil)
    }

    @Test func quotedOrOtherwiseTaggedScalarsAreNotIntegersOrBooleans() {
        let errors = loadErrors(yaml(ggufModel, service("chat", "port: \"8101\"\ncontextSize: !!str 512\njinja: 'yes'")))
        #expect(
            errors.map(\.field).sorted() == [
                "InferenceService \"chat\" spec.contextSize", "InferenceService \"chat\" spec.jinja", "InferenceService \"chat\" spec.port",
            ], "\(errors)")
    }
}

/// `endpoint.port` is a cluster Service's port: on one node it gives way to an entry's fixed `spec.port`,
/// whichever comes first in the files (a field report: the fixed entry was the one moved).
@Suite struct EndpointPortTests {
    @Test func aFixedPortWinsOverAnEarlierEndpointPortInTheSameFileOrAnother() throws {
        let a = service("a", "endpoint: {port: 18300}")
        let b = service("b", "port: 18300")
        for files in [[("/etc/ma/models.yaml", yaml(ggufModel, a, b))], [("/etc/ma/a.yaml", yaml(ggufModel, a)), ("/etc/ma/b.yaml", yaml(b))]] {
            let (config, errors) = ConfigLoader.load(files: files)
            #expect(errors.isEmpty, "\(errors)")
            #expect(config.services.first { $0.name == "b" }?.port == 18300)
            #expect(config.services.first { $0.name == "a" }?.port == nil)
            let warning = try #require(config.warnings.first { $0.reason == .PortConflict })
            #expect(warning.subject == "a" && warning.error.message.contains("already used by InferenceService \"b\""), "\(warning)")
        }
    }
}
