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
    /// Start on demand, stop when idle: the entry is not started with the agent but by the first request
    /// for it through the gateway (`--gateway-listen`), and stopped (phase `Stopped`, reason `Idle`) once
    /// this long passed with no request in flight. A duration: `500ms`, `30s`, `10m`, `1h`. Annotation only.
    public static let idleTimeout = prefix + "idleTimeout"
    /// Extra model names the gateway routes to this entry, comma-separated (`"gpt-4o-mini, coder"`).
    /// Annotation only.
    public static let aliases = prefix + "aliases"
    /// An exclusive group: entries with the same group name never run at the same time; a request for one
    /// stops the other (after its requests in flight finish) before it starts. Makes the entry start on
    /// demand. A DNS-1123 label. Annotation only.
    public static let exclusiveGroup = prefix + "exclusiveGroup"
    /// Every key under `prefix`, with the spec field it stands for.
    public static let fields: [(key: String, field: String)] = [
        (port, "port"), (restartPolicy, "restartPolicy"), (terminationGracePeriodSeconds, "terminationGracePeriodSeconds"),
        (startupTimeoutSeconds, "startupTimeoutSeconds"), (runtime, "runtime"),
        (idleTimeout, "idleTimeout"), (aliases, "aliases"), (exclusiveGroup, "exclusiveGroup"),
    ]

    /// Reads an idle timeout: a positive number and one unit, `ms`, `s`, `m` or `h` (`500ms`, `30s`,
    /// `10m`, `1.5h`); nil for anything else.
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (unit, seconds) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(number), value > 0,
                value * seconds <= 7 * 86_400
            else { return nil }
            return .milliseconds(Int64((value * seconds * 1000).rounded()))
        }
        return nil
    }
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
                reader.fail(
                    at: annotation.keyMark, "\(entry) metadata.annotations",
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
                reader.fail(
                    at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.prefix + field)]",
                    "expected an integer from \(range.lowerBound) to \(range.upperBound) (as a string), found \"\(value)\"")
                return nil
            }
            return n
        }
        func clash(_ field: String, _ same: Bool) {
            guard !same, let (_, mark) = annotated.values[field] else { return }
            reader.fail(
                at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.prefix + field)]",
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
                reader.fail(
                    at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.restartPolicy)]",
                    "unknown restart policy \"\(value)\"\(Suggestion.hint(for: value, in: names)) (known: \(names.joined(separator: ", ")))")
            }
        }
        if let (value, mark) = annotated.values["idleTimeout"] {
            if let timeout = AgentAnnotations.parseDuration(value) {
                service.idleTimeout = timeout
            } else {
                reader.fail(
                    at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.idleTimeout)]",
                    "expected a duration such as \"30s\", \"10m\" or \"1h\" (a positive number and one unit: ms, s, m, h; at most 7 days), found \"\(value)\"")
            }
        }
        if let (value, mark) = annotated.values["aliases"] {
            let names = value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingBlanks() }
            if names.isEmpty || names.contains(where: { $0.isEmpty || $0.contains(where: \.isWhitespace) }) {
                reader.fail(
                    at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.aliases)]",
                    "expected model names separated by commas (\"gpt-4o-mini, coder\"), found \"\(value)\"")
            } else {
                service.aliases = names
            }
        }
        if let (value, mark) = annotated.values["exclusiveGroup"] {
            let label = value.count <= 63 && (value.first?.isLetter == true || value.first?.isNumber == true)
            if label, value.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }), value.last != "-" {
                service.exclusiveGroup = value
            } else {
                reader.fail(
                    at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.exclusiveGroup)]",
                    "expected a group name (a DNS-1123 label: a-z, 0-9 and -, up to 63 characters), found \"\(value)\"")
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
                reader.fail(
                    at: mark, "\(entry) metadata.annotations[\(AgentAnnotations.runtime)]",
                    "unknown runtime \"\(value)\"\(Suggestion.hint(for: value, in: accepted)) (known: \(accepted.joined(separator: ", ")))")
            }
        }
        return reader.errors.count == before
    }
}
