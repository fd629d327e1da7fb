/// Turns the bytes of a `models.yaml` (format v1) into a validated `AgentConfig`.
///
/// The file is a YAML stream of documents separated by `---`; each has `apiVersion:
/// inference.llmkube.dev/v1alpha1`, `kind` (`Model` or `InferenceService`), `metadata.name` and `spec`.
/// Empty documents are skipped, as `kubectl apply` does. Pure: no I/O, no clock.
public enum ConfigLoader {
    /// The only `apiVersion` format v1 accepts (LLMKube's CRD group and version).
    public static let apiVersion = "inference.llmkube.dev/v1alpha1"
    /// Largest config file accepted, in bytes (1 MiB); a models.yaml is a few KiB.
    public static let maxFileBytes = 1 << 20

    static let documentFields = ["apiVersion", "kind", "metadata", "spec"]
    static let metadataFields = ["name", "namespace", "labels", "annotations"]
    static let modelSpecFields = ["source", "format", "sha256", "quantization", "hardware"]
    static let hardwareFields = ["accelerator", "gpu"]
    static let gpuFields = ["enabled", "count", "vendor", "layers", "memory"]
    static let serviceSpecFields = [
        "modelRef", "runtime", "replicas", "contextSize", "parallelSlots", "flashAttention", "jinja",
        "extraArgs", "env", "port", "terminationGracePeriodSeconds", "restartPolicy", "startupTimeoutSeconds",
    ]
    static let kinds = ["Model", "InferenceService"]

    /// Loads and validates a whole config.
    /// - Parameters:
    ///   - bytes: the file's contents (UTF-8).
    ///   - file: the path used in error messages and to resolve relative `spec.source` paths
    ///     (against the folder that holds it).
    /// - Throws: `ConfigLoadError` listing every file error: YAML syntax, unknown fields, wrong types,
    ///   duplicate names, a `modelRef` to no Model, a runtime name that is not known, two services on
    ///   one fixed port, a name that is not a DNS-1123 label, a file with no documents, a file over
    ///   `maxFileBytes`.
    public static func load(_ bytes: [UInt8], file: String) throws(ConfigLoadError) -> AgentConfig {
        var reader = FieldReader(file: file)
        guard bytes.count <= maxFileBytes else {
            reader.fail(at: SourceMark(line: 1, column: 1), "", "file is \(bytes.count) bytes; the limit is \(maxFileBytes) bytes")
            throw ConfigLoadError(errors: reader.errors)
        }
        let documents: [YAMLNode]
        do {
            documents = try YAMLParser.parse(bytes)
        } catch {
            throw ConfigLoadError(errors: [ConfigError(file: file, mark: error.mark, field: "", message: "YAML syntax error: \(error.message)")])
        }
        if documents.allSatisfy(\.isNull) {
            // Most often a save caught half-way (truncated, not yet written): never read it as "run nothing".
            reader.fail(at: SourceMark(line: 1, column: 1), "", "the file has no documents; to stop every service, keep the entries with replicas: 0 or remove them one by one")
            throw ConfigLoadError(errors: reader.errors)
        }
        let folder = directory(of: file)
        var models: [String: Model] = [:]
        var services: [InferenceService] = []
        var serviceNames: Set<String> = []

        for document in documents where !document.isNull {
            guard let fields = reader.fields(document, "", allowed: documentFields) else { continue }
            guard let kindNode = fields["kind"] else {
                // Report every missing top-level field at once, not only the first.
                for field in documentFields where fields[field] == nil {
                    let hint = field == "kind" ? " (one of: \(kinds.joined(separator: ", ")))" : field == "apiVersion" ? " (\(apiVersion))" : ""
                    reader.fail(document, field, "missing required field \"\(field)\"\(hint)")
                }
                continue
            }
            guard let kind = reader.string(kindNode, "kind") else { continue }
            guard kinds.contains(kind) else {
                reader.fail(kindNode, "kind", "unknown kind \"\(kind)\"\(Suggestion.hint(for: kind, in: kinds)) (known: \(kinds.joined(separator: ", ")))")
                continue
            }
            if let node = fields["apiVersion"] {
                if let version = reader.string(node, "\(kind).apiVersion"), version != apiVersion {
                    reader.fail(node, "\(kind) apiVersion", "expected \"\(apiVersion)\", found \"\(version)\"")
                }
            } else {
                reader.fail(document, "\(kind) apiVersion", "missing required field \"apiVersion\" (\(apiVersion))")
            }
            guard let (name, nameMark) = readName(fields["metadata"], kind: kind, document: document, reader: &reader) else { continue }
            let entry = "\(kind) \"\(name)\""
            guard let specNode = fields["spec"] else {
                reader.fail(document, "\(entry) spec", "missing required field \"spec\"")
                continue
            }
            switch kind {
            case "Model":
                if models[name] != nil {
                    reader.fail(at: nameMark, "\(entry) metadata.name", "duplicate Model name \"\(name)\" (first defined at line \(models[name]!.mark.line))")
                    continue
                }
                if let model = readModel(specNode, name: name, entry: entry, folder: folder, mark: document.mark, reader: &reader) {
                    models[name] = model
                }
            default:
                if serviceNames.contains(name) {
                    let first = services.first { $0.name == name }?.mark.line ?? 0
                    reader.fail(at: nameMark, "\(entry) metadata.name", "duplicate InferenceService name \"\(name)\" (first defined at line \(first))")
                    continue
                }
                serviceNames.insert(name)
                if let service = readService(specNode, name: name, entry: entry, mark: document.mark, reader: &reader) {
                    services.append(service)
                }
            }
        }

        // Whole-file checks that need every document.
        var portOwner: [Int: String] = [:]
        for service in services {
            let entry = "InferenceService \"\(service.name)\""
            if models[service.modelRef] == nil, !reader.errors.contains(where: { $0.field.hasPrefix("Model \"\(service.modelRef)\"") }) {
                let hint = Suggestion.hint(for: service.modelRef, in: models.keys.sorted())
                reader.fail(at: service.fieldMarks["spec.modelRef"] ?? service.mark, "\(entry) spec.modelRef", "no Model named \"\(service.modelRef)\" in this file\(hint)")
            }
            if let port = service.port {
                if let other = portOwner[port] {
                    reader.fail(at: service.fieldMarks["spec.port"] ?? service.mark, "\(entry) spec.port", "port \(port) is already the fixed port of InferenceService \"\(other)\"")
                } else {
                    portOwner[port] = service.name
                }
            }
        }
        if !reader.errors.isEmpty {
            throw ConfigLoadError(errors: reader.errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return AgentConfig(file: file, models: models, services: services)
    }

    /// Reads `metadata` and returns a valid `metadata.name` and where it is written.
    static func readName(_ node: YAMLNode?, kind: String, document: YAMLNode, reader: inout FieldReader) -> (String, SourceMark)? {
        guard let node else {
            reader.fail(document, "\(kind) metadata", "missing required field \"metadata\" with a \"name\"")
            return nil
        }
        guard let meta = reader.fields(node, "\(kind) metadata", allowed: metadataFields) else { return nil }
        if let labels = meta["labels"] { reader.stringMap(labels, "\(kind) metadata.labels") }
        if let annotations = meta["annotations"] { reader.stringMap(annotations, "\(kind) metadata.annotations") }
        if let ns = meta["namespace"] { _ = reader.string(ns, "\(kind) metadata.namespace") }
        guard let nameNode = meta["name"] else {
            reader.fail(node, "\(kind) metadata.name", "missing required field \"name\"")
            return nil
        }
        guard let name = reader.string(nameNode, "\(kind) metadata.name") else { return nil }
        guard isDNS1123Label(name) else {
            reader.fail(nameNode, "\(kind) \"\(name)\" metadata.name",
                        "\"\(name)\" is not a DNS-1123 label: at most 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")
            return nil
        }
        return (name, nameNode.mark)
    }

    static func readModel(_ node: YAMLNode, name: String, entry: String, folder: String, mark: SourceMark, reader: inout FieldReader) -> Model? {
        let before = reader.errors.count
        guard let spec = reader.fields(node, "\(entry) spec", allowed: modelSpecFields) else { return nil }
        var source: ModelSource?
        if let node = spec["source"] {
            if let text = reader.string(node, "\(entry) spec.source") {
                if text.isEmpty {
                    reader.fail(node, "\(entry) spec.source", "expected a path or file:// URL, found an empty string")
                } else {
                    do throws(ModelSource.ParseError) {
                        source = try ModelSource.parse(text, folder: folder)
                    } catch {
                        reader.fail(node, "\(entry) spec.source", error.message)
                    }
                }
            }
        } else {
            reader.fail(node, "\(entry) spec.source", "missing required field \"source\" (a path, or a file:// URL)")
        }
        var format = ModelFormat.gguf
        if let node = spec["format"], let text = reader.string(node, "\(entry) spec.format") {
            if let f = ModelFormat(rawValue: text) {
                format = f
            } else {
                let names = ModelFormat.allCases.map(\.rawValue)
                reader.fail(node, "\(entry) spec.format", "unknown format \"\(text)\"\(Suggestion.hint(for: text, in: names)) (known: \(names.joined(separator: ", ")))")
            }
        }
        var sha256: String?
        if let node = spec["sha256"], let text = reader.string(node, "\(entry) spec.sha256") {
            if text.count == 64, text.allSatisfy({ $0.isHexDigit }) {
                sha256 = text.lowercased()
            } else {
                reader.fail(node, "\(entry) spec.sha256", "expected 64 hexadecimal digits, found \"\(text)\"")
            }
        }
        if let node = spec["quantization"] { _ = reader.string(node, "\(entry) spec.quantization") }
        var gpuLayers: Int?
        if let node = spec["hardware"], let hardware = reader.fields(node, "\(entry) spec.hardware", allowed: hardwareFields) {
            if let accel = hardware["accelerator"] { _ = reader.string(accel, "\(entry) spec.hardware.accelerator") }
            if let gpuNode = hardware["gpu"], let gpu = reader.fields(gpuNode, "\(entry) spec.hardware.gpu", allowed: gpuFields) {
                let path = "\(entry) spec.hardware.gpu"
                if let n = gpu["enabled"] { _ = reader.bool(n, "\(path).enabled") }
                if let n = gpu["count"] { _ = reader.int(n, "\(path).count", in: 0...64) }
                if let n = gpu["vendor"] { _ = reader.string(n, "\(path).vendor") }
                if let n = gpu["memory"] { _ = reader.string(n, "\(path).memory") }
                if let n = gpu["layers"] { gpuLayers = reader.int(n, "\(path).layers", in: -1...100_000) }
            }
        }
        guard reader.errors.count == before, let source else { return nil }
        var model = Model(name: name, source: source, format: format, sha256: sha256, gpuLayers: gpuLayers, mark: mark)
        model.fieldMarks = fieldMarks(spec)
        return model
    }

    static func readService(_ node: YAMLNode, name: String, entry: String, mark: SourceMark, reader: inout FieldReader) -> InferenceService? {
        let before = reader.errors.count
        guard let spec = reader.fields(node, "\(entry) spec", allowed: serviceSpecFields) else { return nil }
        var service = InferenceService(name: name, modelRef: "", mark: mark)
        service.fieldMarks = fieldMarks(spec)
        if let n = spec["modelRef"] {
            if let ref = reader.string(n, "\(entry) spec.modelRef") { service.modelRef = ref }
        } else {
            reader.fail(node, "\(entry) spec.modelRef", "missing required field \"modelRef\" (the name of a Model in this file)")
        }
        if let n = spec["runtime"], !n.isNull, let written = reader.string(n, "\(entry) spec.runtime"), !written.isEmpty {
            if let canonical = RuntimeName.canonical(written) {
                service.runtime = canonical
            } else {
                let candidates = RuntimeName.known + RuntimeName.aliases.keys.sorted()
                reader.fail(n, "\(entry) spec.runtime", "unknown runtime \"\(written)\"\(Suggestion.hint(for: written, in: candidates)) (known: \(RuntimeName.known.joined(separator: ", ")); alias: llamacpp)")
            }
        }
        if let n = spec["replicas"], let v = reader.int(n, "\(entry) spec.replicas", in: 0...1) { service.replicas = v }
        if let n = spec["contextSize"] { service.contextSize = reader.int(n, "\(entry) spec.contextSize", in: 1...(1 << 24)) }
        if let n = spec["parallelSlots"] { service.parallelSlots = reader.int(n, "\(entry) spec.parallelSlots", in: 1...1024) }
        if let n = spec["flashAttention"] { service.flashAttention = reader.bool(n, "\(entry) spec.flashAttention") }
        if let n = spec["jinja"] { service.jinja = reader.bool(n, "\(entry) spec.jinja") }
        if let n = spec["extraArgs"], let args = reader.stringList(n, "\(entry) spec.extraArgs") { service.extraArgs = args }
        if let n = spec["port"] { service.port = reader.int(n, "\(entry) spec.port", in: 1...65535) }
        if let n = spec["terminationGracePeriodSeconds"],
           let v = reader.int(n, "\(entry) spec.terminationGracePeriodSeconds", in: 0...86_400) {
            service.terminationGracePeriodSeconds = v
        }
        if let n = spec["restartPolicy"], let text = reader.string(n, "\(entry) spec.restartPolicy") {
            if let policy = RestartPolicy(rawValue: text) {
                service.restartPolicy = policy
            } else {
                let names = RestartPolicy.allCases.map(\.rawValue)
                reader.fail(n, "\(entry) spec.restartPolicy", "unknown restart policy \"\(text)\"\(Suggestion.hint(for: text, in: names)) (known: \(names.joined(separator: ", ")))")
            }
        }
        if let n = spec["startupTimeoutSeconds"] {
            service.startupTimeoutSeconds = reader.int(n, "\(entry) spec.startupTimeoutSeconds", in: 1...86_400)
        }
        if let n = spec["env"] {
            if case .sequence(let items) = n.value {
                var seen: Set<String> = []
                for (i, item) in items.enumerated() {
                    let path = "\(entry) spec.env[\(i)]"
                    guard let f = reader.fields(item, path, allowed: ["name", "value"]) else { continue }
                    guard let nameNode = f["name"] else {
                        reader.fail(item, "\(path).name", "missing required field \"name\"")
                        continue
                    }
                    guard let varName = reader.string(nameNode, "\(path).name") else { continue }
                    if varName.isEmpty || varName.contains("=") || varName.contains("\0") {
                        reader.fail(nameNode, "\(path).name", "\"\(varName)\" is not a valid environment variable name")
                        continue
                    }
                    if !seen.insert(varName).inserted {
                        reader.fail(nameNode, "\(path).name", "duplicate environment variable \"\(varName)\"")
                    }
                    var value = ""
                    if let v = f["value"], !v.isNull, let text = reader.string(v, "\(path).value") { value = text }
                    service.env.append(EnvVar(name: varName, value: value))
                }
            } else {
                reader.fail(n, "\(entry) spec.env", "expected a list of {name, value}, found \(n.kindDescription)")
            }
        }
        return reader.errors.count == before ? service : nil
    }

    /// `spec.<field>` -> where its value starts.
    static func fieldMarks(_ spec: [String: YAMLNode]) -> [String: SourceMark] {
        var marks: [String: SourceMark] = [:]
        for (key, node) in spec { marks["spec.\(key)"] = node.mark }
        return marks
    }

    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        let dir = String(file[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    static func join(_ folder: String, _ path: String) -> String {
        var rest = Substring(path)
        while rest.hasPrefix("./") { rest = rest.dropFirst(2) }
        return folder.hasSuffix("/") ? folder + rest : folder + "/" + rest
    }

    /// RFC 1123 label as Kubernetes checks it: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
    public static func isDNS1123Label(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 63 else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 45 }
    }
}
