/// The annotation spelling of metal-agent's own fields, so that one file is valid both here and in a
/// cluster: `spec.port`, `spec.restartPolicy`, `spec.terminationGracePeriodSeconds` and
/// `spec.startupTimeoutSeconds` are not in LLMKube's CRD (`kubectl apply` rejects them), but any
/// `metadata.annotations` key is accepted there. `metal-agent.llmkube.dev/runtime` takes the agent's
/// runtime keys (`mlx-server`), which the CRD's `spec.runtime` enum lacks.
///
/// Values are strings, as annotations always are: `metal-agent.llmkube.dev/port: "8090"`. Setting a
/// field both ways is an error unless both say the same.
public enum AgentAnnotations {
    /// The prefix of every metal-agent annotation.
    public static let prefix = "metal-agent.llmkube.dev/"
    /// `spec.port`.
    public static let port = prefix + "port"
    /// `spec.restartPolicy`.
    public static let restartPolicy = prefix + "restartPolicy"
    /// `spec.terminationGracePeriodSeconds`.
    public static let terminationGracePeriodSeconds = prefix + "terminationGracePeriodSeconds"
    /// `spec.startupTimeoutSeconds`.
    public static let startupTimeoutSeconds = prefix + "startupTimeoutSeconds"
    /// `spec.runtime`, with the agent's runtime keys.
    public static let runtime = prefix + "runtime"
    /// Every key under `prefix`, with the spec field it stands for.
    public static let fields: [(key: String, field: String)] = [
        (port, "port"), (restartPolicy, "restartPolicy"), (terminationGracePeriodSeconds, "terminationGracePeriodSeconds"),
        (startupTimeoutSeconds, "startupTimeoutSeconds"), (runtime, "runtime"),
    ]
}

/// Agent-only settings read from annotations, with where each was written.
struct AnnotatedFields {
    var values: [String: (value: String, mark: SourceMark)] = [:]
}

extension ConfigLoader {
    /// Reads and checks the `metal-agent.llmkube.dev/` annotations of an InferenceService.
    static func readAgentAnnotations(_ meta: Metadata, entry: String, reader: inout FieldReader) -> AnnotatedFields {
        var result = AnnotatedFields()
        let known = AgentAnnotations.fields.map(\.key)
        for (key, annotation) in meta.annotations.sorted(by: { $0.key < $1.key }) where key.hasPrefix(AgentAnnotations.prefix) {
            guard let field = AgentAnnotations.fields.first(where: { $0.key == key })?.field else {
                reader.fail(at: annotation.keyMark, "\(entry) metadata.annotations",
                            "unknown metal-agent annotation \"\(key)\"\(Suggestion.hint(for: key, in: known)) (known: \(known.joined(separator: ", ")))")
                continue
            }
            result.values[field] = (annotation.value, annotation.valueMark)
        }
        return result
    }

    /// Applies annotated agent-only settings to a service read from its spec. Returns false after
    /// recording an error (a bad value, or a different value in both places).
    /// Long on purpose: one block per annotation, as a table of the agent-only settings.
    static func apply(_ annotated: AnnotatedFields, to service: inout InferenceService, entry: String, reader: inout FieldReader) -> Bool {
        let before = reader.errors.count
        func number(_ field: String, _ range: ClosedRange<Int>) -> Int? {
            guard let (value, mark) = annotated.values[field] else { return nil }
            guard let n = Int(value), range.contains(n) else {
                reader.fail(at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.prefix + field)]",
                            "expected an integer from \(range.lowerBound) to \(range.upperBound) (as a string), found \"\(value)\"")
                return nil
            }
            return n
        }
        func clash(_ field: String, _ same: Bool) {
            guard !same, let (_, mark) = annotated.values[field] else { return }
            reader.fail(at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.prefix + field)]",
                        "spec.\(field) says otherwise; set it in one place (the annotation is the spelling a cluster accepts)")
        }
        if let port = number("port", 1...65535) {
            if service.fieldMarks["spec.port"] != nil {
                clash("port", service.port == port)
            } else {
                service.port = port
                service.portSource = AgentAnnotations.port
                service.fieldMarks["metadata.annotations[\(AgentAnnotations.port)]"] = annotated.values["port"]?.mark
            }
        }
        if let grace = number("terminationGracePeriodSeconds", 0...86_400) {
            if service.fieldMarks["spec.terminationGracePeriodSeconds"] != nil {
                clash("terminationGracePeriodSeconds", service.terminationGracePeriodSeconds == grace)
            } else {
                service.terminationGracePeriodSeconds = grace
            }
        }
        if let timeout = number("startupTimeoutSeconds", 1...86_400) {
            if service.fieldMarks["spec.startupTimeoutSeconds"] != nil {
                clash("startupTimeoutSeconds", service.startupTimeoutSeconds == timeout)
            } else {
                service.startupTimeoutSeconds = timeout
            }
        }
        if let (value, mark) = annotated.values["restartPolicy"] {
            if let policy = RestartPolicy(rawValue: value) {
                if service.fieldMarks["spec.restartPolicy"] != nil {
                    clash("restartPolicy", service.restartPolicy == policy)
                } else {
                    service.restartPolicy = policy
                }
            } else {
                let names = RestartPolicy.allCases.map(\.rawValue)
                reader.fail(at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.restartPolicy)]",
                            "unknown restart policy \"\(value)\"\(Suggestion.hint(for: value, in: names)) (known: \(names.joined(separator: ", ")))")
            }
        }
        if let (value, mark) = annotated.values["runtime"] {
            let accepted = RuntimeName.accepted
            if accepted.contains(value) {
                let canonical = RuntimeName.canonical(value) ?? value
                if service.fieldMarks["spec.runtime"] != nil, let written = service.runtime {
                    // The CRD's spelling in spec (llamacpp) and the agent's in the annotation may name one runtime.
                    clash("runtime", written == canonical)
                } else {
                    service.runtime = canonical
                    service.fieldMarks["spec.runtime"] = mark
                }
            } else {
                reader.fail(at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.runtime)]",
                            "unknown runtime \"\(value)\"\(Suggestion.hint(for: value, in: accepted)) (known: \(accepted.joined(separator: ", ")))")
            }
        }
        return reader.errors.count == before
    }
}
