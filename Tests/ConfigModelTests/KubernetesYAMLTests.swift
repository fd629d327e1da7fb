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
        ("010", 8), ("08080", 8080), ("0", 0), ("-0", 0), ("00", 0),
    ])
    func integerForms(text: String, value: Int) {
        #expect(KubernetesScalar.integer(text) == value)
    }

    @Test(arguments: ["", "-", "0x", "1.5", "12a", "0x1g", "++1", "+-1", "0b2", "99999999999999999999", " 1", "٣"])
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
