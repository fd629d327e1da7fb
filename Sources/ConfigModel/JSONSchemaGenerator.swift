/// Writes `schema/models.schema.json` (JSON Schema draft 7, one document) from `SpecFields`, so the
/// schema editors check against and the parser can never drift apart: a test regenerates it and
/// compares it with the committed file (`METAL_AGENT_WRITE_SCHEMA=1 swift test --filter SchemaFileTests`
/// rewrites it).
///
/// Null is "not set" for every optional field, as the API server reads it, so each optional property
/// also admits `null`. Cross-document rules (unique names, ports), entry errors and most of the CRD's
/// CEL rules are the parser's alone; the speculative-decoding rules are in the schema too.
public enum JSONSchemaGenerator {
    /// The schema, pretty-printed with two-space indents and a final newline.
    public static func schema() -> String {
        let doc: JSON = .object([
            ("$schema", .string("http://json-schema.org/draft-07/schema#")),
            ("$id", .string("https://github.com/metal-agent/metal-agent/schema/models.schema.json")),
            ("title", .string("metal-agent models.yaml (format v1): one document")),
            (
                "description",
                .string(
                    "A Kubernetes object. Model and InferenceService of inference.llmkube.dev/v1alpha1 are checked against the whole "
                        + "v1alpha1 schema (generated from metal-agent's field table, SpecFields); documents of other kinds or API groups "
                        + "are skipped by metal-agent (IgnoredKind). Cross-document rules (unique names, one spec.port per entry) and "
                        + "entry errors (a modelRef to no Model, a runtime or format this node cannot run) are checked by metal-agent validate.")
            ),
            ("type", .string("object")),
            ("required", .array([.string("apiVersion"), .string("kind")])),
            (
                "properties",
                .object([
                    ("apiVersion", .object([("type", .string("string"))])),
                    ("kind", .object([("type", .string("string"))])),
                ])
            ),
            (
                "allOf",
                .array([
                    conditional(kind: "Model", then: "model"),
                    conditional(kind: "InferenceService", then: "inferenceService"),
                    // A v1 List (kubectl get -o yaml of several objects): each item is a document.
                    .object([
                        (
                            "if",
                            .object([
                                (
                                    "properties",
                                    .object([("apiVersion", .object([("const", .string("v1"))])), ("kind", .object([("const", .string("List"))]))])
                                ),
                                ("required", .array([.string("apiVersion"), .string("kind")])),
                            ])
                        ),
                        (
                            "then",
                            .object([("properties", .object([("items", .object([("type", .string("array")), ("items", .object([("$ref", .string("#"))]))]))]))])
                        ),
                    ]),
                    .object([
                        (
                            "if",
                            .object([
                                ("properties", .object([("apiVersion", .object([("pattern", .string("^inference\\.llmkube\\.dev/"))]))])),
                                ("required", .array([.string("apiVersion")])),
                            ])
                        ),
                        (
                            "then",
                            .object([
                                (
                                    "properties",
                                    .object([
                                        ("kind", .object([("enum", .array((ConfigLoader.kinds + ConfigLoader.otherGroupKinds).map(JSON.string)))]))
                                    ])
                                )
                            ])
                        ),
                    ]),
                ])
            ),
            (
                "definitions",
                .object([
                    ("stringMap", .object([("type", .string("object")), ("additionalProperties", .object([("type", .string("string"))]))])),
                    ("metadata", metadata()),
                    ("model", document(kind: "Model", spec: "modelSpec")),
                    ("inferenceService", document(kind: "InferenceService", spec: "inferenceServiceSpec")),
                    ("modelSpec", object(SpecFields.model, path: "")),
                    ("inferenceServiceSpec", object(SpecFields.inferenceService, path: "")),
                ])
            ),
        ])
        return doc.render(indent: 0) + "\n"
    }

    static func conditional(kind: String, then definition: String) -> JSON {
        .object([
            ("if", .object([("properties", .object([("kind", .object([("const", .string(kind))]))])), ("required", .array([.string("kind")]))])),
            ("then", .object([("$ref", .string("#/definitions/\(definition)"))])),
        ])
    }

    static func document(kind: String, spec: String) -> JSON {
        .object([
            ("type", .string("object")),
            ("additionalProperties", .bool(false)),
            ("required", .array(["apiVersion", "kind", "metadata", "spec"].map(JSON.string))),
            (
                "properties",
                .object([
                    ("apiVersion", .object([("const", .string(ConfigLoader.apiVersion))])),
                    ("kind", .object([("const", .string(kind))])),
                    ("metadata", .object([("$ref", .string("#/definitions/metadata"))])),
                    ("spec", .object([("$ref", .string("#/definitions/\(spec)"))])),
                    ("status", .object([("description", .string("Written by a cluster (kubectl get -o yaml); ignored."))])),
                ])
            ),
        ])
    }

    static func metadata() -> JSON {
        func nullable(_ schema: JSON) -> JSON { .object([("anyOf", .array([.object([("type", .string("null"))]), schema]))]) }
        let string = JSON.object([("type", .string("string"))])
        return .object([
            ("type", .string("object")),
            ("additionalProperties", .bool(false)),
            ("required", .array([.string("name")])),
            (
                "properties",
                .object([
                    (
                        "name",
                        .object([
                            (
                                "description",
                                .string(
                                    "A DNS-1123 subdomain: at most 253 characters of a-z, 0-9, '-' and '.', each dot-separated part starting and ending with a letter or digit."
                                )
                            ),
                            ("type", .string("string")), ("maxLength", .int(253)),
                            ("pattern", .string("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")),
                        ])
                    ),
                    (
                        "namespace",
                        nullable(
                            .object([
                                ("description", .string("A DNS-1123 label; default: default.")),
                                ("type", .string("string")), ("maxLength", .int(63)), ("pattern", .string("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")),
                            ]))
                    ),
                    ("labels", nullable(.object([("$ref", .string("#/definitions/stringMap"))]))),
                    ("annotations", nullable(annotations())),
                    ("generateName", nullable(string)), ("uid", nullable(string)), ("resourceVersion", nullable(string)),
                    ("selfLink", nullable(string)), ("creationTimestamp", nullable(string)), ("deletionTimestamp", nullable(string)),
                    ("generation", nullable(.object([("type", .string("integer")), ("minimum", .int(0))]))),
                    ("deletionGracePeriodSeconds", nullable(.object([("type", .string("integer")), ("minimum", .int(0))]))),
                    ("finalizers", nullable(.object([("type", .string("array")), ("items", string)]))),
                    ("ownerReferences", nullable(.object([("type", .string("array"))]))),
                    ("managedFields", nullable(.object([("type", .string("array"))]))),
                ])
            ),
        ])
    }

    /// `metadata.annotations`: strings; the `metal-agent.llmkube.dev/` keys are the agent-only fields.
    static func annotations() -> JSON {
        let string = JSON.object([("type", .string("string"))])
        func pattern(_ p: String) -> JSON { .object([("type", .string("string")), ("pattern", .string(p))]) }
        return .object([
            ("description", .string("Strings. The metal-agent.llmkube.dev/ keys set agent-only fields in a spelling a cluster accepts.")),
            ("type", .string("object")),
            ("additionalProperties", string),
            (
                "propertyNames",
                .object([
                    ("if", .object([("pattern", .string("^metal-agent\\.llmkube\\.dev/"))])),
                    ("then", .object([("enum", .array(AgentAnnotations.fields.map { JSON.string($0.key) }))])),
                ])
            ),
            (
                "properties",
                .object([
                    (AgentAnnotations.port, pattern("^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$")),
                    (AgentAnnotations.restartPolicy, .object([("enum", .array(RestartPolicy.allCases.map { JSON.string($0.rawValue) }))])),
                    (AgentAnnotations.terminationGracePeriodSeconds, pattern("^([0-9]{1,4}|[1-7][0-9]{4}|8[0-5][0-9]{3}|86[0-3][0-9]{2}|86400)$")),
                    (AgentAnnotations.startupTimeoutSeconds, pattern("^([1-9][0-9]{0,3}|[1-7][0-9]{4}|8[0-5][0-9]{3}|86[0-3][0-9]{2}|86400)$")),
                    (AgentAnnotations.runtime, .object([("enum", .array(RuntimeName.accepted.map(JSON.string)))])),
                    (AgentAnnotations.idleTimeout, pattern("^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$")),
                    (AgentAnnotations.aliases, pattern("^[^,\\s]+(\\s*,\\s*[^,\\s]+)*$")),
                    (AgentAnnotations.exclusiveGroup, pattern("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")),
                ])
            ),
        ])
    }

    static func object(_ fields: [SpecField], path: String) -> JSON {
        var properties: [(String, JSON)] = []
        for field in fields {
            var schema = type(field.type, path: path.isEmpty ? field.name : "\(path).\(field.name)")
            var extra: [(String, JSON)] = [("x-metal-agent-class", .string(field.fieldClass.rawValue))]
            if !field.doc.isEmpty { extra.insert(("description", .string(field.doc.replacingBackticks())), at: 0) }
            schema = schema.merging(extra)
            if !field.required { schema = .object([("anyOf", .array([.object([("type", .string("null"))]), schema]))]) }
            properties.append((field.name, schema))
        }
        var members: [(String, JSON)] = [("type", .string("object")), ("additionalProperties", .bool(false))]
        let required = fields.filter(\.required).map { JSON.string($0.name) }
        if !required.isEmpty { members.append(("required", .array(required))) }
        members.append(("properties", .object(properties)))
        if path == "speculativeDecoding" { members.append(("allOf", speculativeRules())) }
        return .object(members)
    }

    /// The CRD's three speculative-decoding rules (`x-kubernetes-validations`).
    static func speculativeRules() -> JSON {
        let needWeights = ["draft", "draft-simple", "draft-eagle3", "draft-dflash", "draft-dspark"]
        let mayHaveWeights = needWeights + ["draft-mtp"]
        func set(_ key: String) -> JSON {
            .object([("required", .array([.string(key)])), ("properties", .object([(key, .object([("type", .string("string")), ("minLength", .int(1))]))]))])
        }
        func typeIn(_ values: [String]) -> JSON {
            .object([("properties", .object([("type", .object([("enum", .array(values.map(JSON.string)))]))]))])
        }
        return .array([
            .object([("if", typeIn(needWeights)), ("then", .object([("anyOf", .array([set("draftModelRef"), set("draftModel")]))]))]),
            .object([
                ("if", .object([("not", typeIn(mayHaveWeights))])),
                ("then", .object([("not", .object([("anyOf", .array([set("draftModelRef"), set("draftModel")]))]))])),
            ]),
            .object([("not", .object([("allOf", .array([set("draftModelRef"), set("draftModel")]))]))]),
        ])
    }

    static func type(_ type: FieldType, path: String) -> JSON {
        switch type {
        case .string(let pattern, let minLength, let maxLength, _):
            var m: [(String, JSON)] = [("type", .string("string"))]
            if let minLength { m.append(("minLength", .int(minLength))) }
            if let maxLength { m.append(("maxLength", .int(maxLength))) }
            if let pattern { m.append(("pattern", .string(pattern))) }
            return .object(m)
        case .integer(let range):
            return .object([("type", .string("integer")), ("minimum", .int(range.lowerBound)), ("maximum", .int(range.upperBound))])
        case .number(let range):
            var m: [(String, JSON)] = [("type", .string("number"))]
            if let range { m += [("minimum", .number(range.lowerBound)), ("maximum", .number(range.upperBound))] }
            return .object(m)
        case .boolean:
            return .object([("type", .string("boolean"))])
        case .enumeration(let values, _):
            return .object([("type", .string("string")), ("enum", .array(values.map(JSON.string)))])
        case .integerEnumeration(let values):
            return .object([("type", .string("integer")), ("enum", .array(values.map(JSON.int)))])
        case .list(let item, let maxItems):
            var m: [(String, JSON)] = [("type", .string("array")), ("items", Self.type(item, path: path))]
            if let maxItems { m.append(("maxItems", .int(maxItems))) }
            return .object(m)
        case .object(let fields):
            return object(fields, path: path)
        case .stringMap:
            return .object([("$ref", .string("#/definitions/stringMap"))])
        case .kubernetes(let name):
            return .object([("description", .string("Kubernetes \(name); a cluster's business, not checked further.")), ("type", .string("object"))])
        }
    }
}

extension String {
    /// Markdown code spans to plain text, for JSON descriptions.
    func replacingBackticks() -> String { String(filter { $0 != "`" }) }
}
