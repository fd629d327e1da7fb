/// Turns the bytes of `models.yaml` files (format v1) into a validated `AgentConfig`.
///
/// A file is a YAML stream of Kubernetes objects separated by `---`. Documents of `apiVersion:
/// inference.llmkube.dev/v1alpha1` and `kind` `Model` or `InferenceService` are read against the whole
/// `v1alpha1` schema (`SpecFields`); documents of other kinds or API groups (a `v1` Secret, a
/// Namespace, an LLMKube ModelRouter) are skipped with an `IgnoredKind` warning, as a node has no use for
/// them. Empty documents are skipped, as `kubectl apply` does. Pure: no I/O, no clock.
public enum ConfigLoader {
    /// The only `apiVersion` format v1 reads (LLMKube's CRD group and version).
    public static let apiVersion = "inference.llmkube.dev/v1alpha1"
    /// LLMKube's API group.
    public static let group = "inference.llmkube.dev"
    /// Largest config file accepted, in bytes (1 MiB); a models.yaml is a few KiB.
    public static let maxFileBytes = 1 << 20

    static let documentFields = ["apiVersion", "kind", "metadata", "spec", "status"]
    /// `ObjectMeta` fields (`kubectl get -o yaml` prints the cluster-owned ones; they are ignored).
    static let metadataFields = [
        "name", "namespace", "labels", "annotations", "generateName", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers",
        "managedFields", "selfLink",
    ]
    /// The kinds this agent serves.
    static let kinds = ["Model", "InferenceService"]
    /// LLMKube's other kinds in the same group: skipped with `IgnoredKind`.
    static let otherGroupKinds = ["GPUQuota", "LoRAAdapter", "ModelPool", "ModelRouter"]

    /// Loads and validates one whole config file.
    /// - Parameters:
    ///   - bytes: the file's contents (UTF-8).
    ///   - file: the path used in error messages and to resolve relative `spec.source` paths
    ///     (against the folder that holds it).
    /// - Throws: `ConfigLoadError` listing every file error (see `parse(_:file:)` and `merge(_:)`).
    public static func load(_ bytes: [UInt8], file: String) throws(ConfigLoadError) -> AgentConfig {
        let parsed = try parse(bytes, file: file)
        let merged = merge([parsed])
        if let errors = merged.rejected[file] { throw ConfigLoadError(errors: errors) }
        return merged.config
    }

    /// Loads several files as one config (`--config` repeated, or a folder): each file is parsed on
    /// its own, then they are merged in order (`merge(_:)`).
    /// - Returns: the config of every file without errors, and every error of the others (empty when
    ///   all are valid).
    public static func load(files: [(path: String, bytes: [UInt8])]) -> (config: AgentConfig, errors: [ConfigError]) {
        var parsed: [ConfigFile] = []
        var errors: [ConfigError] = []
        for (path, bytes) in files {
            do { parsed.append(try parse(bytes, file: path)) } catch { errors += error.errors }
        }
        let merged = merge(parsed)
        for file in parsed { errors += merged.rejected[file.file] ?? [] }
        var config = merged.config
        if config.file.isEmpty, let first = files.first { config.file = first.path }
        return (config, errors)
    }

    /// Parses and validates one file on its own.
    /// - Throws: `ConfigLoadError` listing every error of the file, in file order: YAML syntax, unknown
    ///   fields, wrong types, values the CRD rejects (enums, bounds, patterns, its validation rules),
    ///   duplicate names in one namespace, two entries on one `spec.port`, a name that is not a DNS-1123
    ///   subdomain, a file with no documents, a file over `maxFileBytes`. A `modelRef` to no Model is
    ///   not among them: that is an entry error (`ModelNotFound`), as in a cluster.
    public static func parse(_ bytes: [UInt8], file: String) throws(ConfigLoadError) -> ConfigFile {
        var memo = DocumentMemo()
        return try parse(bytes, file: file, memo: &memo)
    }

    /// `parse(_:file:)`, reading again only the documents that changed since the last parse with `memo`.
    /// The stream is cut at its `---` lines (`YAMLParser.chunks`); a chunk whose bytes are the same,
    /// starting on the same line, gives the same documents, so its result comes from `memo` and libyaml
    /// does not even parse it. A one-line edit in a 1,000-entry file then parses and validates one
    /// document, not 1,000 (issue 12). A stream that cannot be cut (directives, UTF-16), or with a
    /// syntax error, is parsed and read whole, as by `parse(_:file:)`. `memo` ends up holding this
    /// parse's chunks only; a memo given another file's path starts empty.
    ///
    /// Long on purpose: the checks that need the whole file (duplicate names, shared ports, kinds)
    /// follow one another in the order their errors are reported.
    public static func parse(_ bytes: [UInt8], file: String, memo: inout DocumentMemo) throws(ConfigLoadError) -> ConfigFile {
        var reader = FieldReader(file: file)
        guard bytes.count <= maxFileBytes else {
            reader.fail(at: SourceMark(line: 1, column: 1), "", "file is \(bytes.count) bytes; the limit is \(maxFileBytes) bytes")
            throw ConfigLoadError(errors: reader.errors)
        }
        if memo.file != file { memo = DocumentMemo(file: file) }
        let (results, empty) = try readDocuments(bytes, file: file, memo: &memo)
        if empty {
            // Most often a save caught half-way (truncated, not yet written): never read it as "run nothing".
            reader.fail(
                at: SourceMark(line: 1, column: 1), "",
                "the file has no documents; to stop every service, keep the entries with replicas: 0 or remove them one by one")
            throw ConfigLoadError(errors: reader.errors)
        }
        var result = ConfigFile(file: file)
        var modelLines: [String: Int] = [:]
        var serviceLines: [String: Int] = [:]
        var errors: [ConfigError] = []
        for one in results {
            errors += one.errors
            result.warnings += one.warnings
            if var model = one.model, let meta = one.meta {
                model.file = file
                if let line = modelLines[model.qualifiedName] {
                    reader.fail(at: meta.mark, "\(one.entry) metadata.name", "duplicate Model name \"\(meta.name)\" (first defined at line \(line))")
                    continue
                }
                modelLines[model.qualifiedName] = one.line
                result.models.append(model)
            }
            if var service = one.service, let meta = one.meta {
                service.file = file
                if let line = serviceLines[service.qualifiedName] {
                    reader.fail(at: meta.mark, "\(one.entry) metadata.name", "duplicate InferenceService name \"\(meta.name)\" (first defined at line \(line))")
                    continue
                }
                serviceLines[service.qualifiedName] = one.line
                result.services.append(service)
            }
        }
        // One fixed port per entry: `spec.port` (or its annotation) twice is a file error.
        var portOwner: [Int: String] = [:]
        for service in result.services where service.portSource == "spec.port" || service.portSource == AgentAnnotations.port {
            guard let port = service.port else { continue }
            if let other = portOwner[port] {
                let field = service.portSource == "spec.port" ? "spec.port" : "metadata.annotations[\(AgentAnnotations.port)]"
                reader.fail(
                    at: service.fieldMarks[field] ?? service.mark, "InferenceService \"\(service.qualifiedName)\" \(field)",
                    "port \(port) is already the fixed port of InferenceService \"\(other)\"")
            } else {
                portOwner[port] = service.qualifiedName
            }
        }
        errors += reader.errors
        if !errors.isEmpty {
            throw ConfigLoadError(errors: errors.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return result
    }

    /// What earlier parses of one file read from each of its chunks (`parse(_:file:memo:)`).
    public struct DocumentMemo: Sendable {
        fileprivate var file: String?
        fileprivate var results: [DocumentKey: ChunkResult] = [:]

        /// An empty memo.
        public init() {}

        fileprivate init(file: String) { self.file = file }

        /// Chunks remembered (those of the last parse; a chunk is one document, or the lines before the
        /// first `---`).
        public var count: Int { results.count }
        /// Documents (List items counted one by one) the last parse had to read; the others were remembered.
        public fileprivate(set) var lastRead = 0
    }

    /// A chunk's source lines and where they start: equal keys parse to equal documents.
    struct DocumentKey: Hashable, Sendable {
        var firstLine: Int
        var bytes: ArraySlice<UInt8>

        // Whole buffers at once: ArraySlice's own Hashable feeds the hasher one byte at a time.
        func hash(into hasher: inout Hasher) {
            hasher.combine(firstLine)
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }

        static func == (a: DocumentKey, b: DocumentKey) -> Bool {
            guard a.firstLine == b.firstLine, a.bytes.count == b.bytes.count else { return false }
            return a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in x.elementsEqual(y) } }
        }
    }

    /// What one chunk gave: its documents' results, whether all its documents are empty, and the nodes
    /// it counts against `YAMLParser.maxNodes`.
    struct ChunkResult: Sendable {
        var results: [DocumentResult]
        var empty: Bool
        var nodes: Int
    }

    /// Every document's result in file order, and whether the file has no document that is not empty:
    /// chunk by chunk with `memo`, else (a stream that cannot be cut, a chunk that does not parse alone,
    /// too many nodes in all) from the whole stream, which also gives a syntax error its position as a
    /// parse from scratch does.
    /// - Throws: `ConfigLoadError` with the YAML syntax error.
    private static func readDocuments(
        _ bytes: [UInt8], file: String, memo: inout DocumentMemo
    ) throws(ConfigLoadError) -> (results: [DocumentResult], empty: Bool) {
        // The field tables are built once per file, not once per document (1,000 entries built them 1,000 times).
        var fieldTables: (model: [SpecField], service: [SpecField])?
        var read = 0
        func readAll(_ documents: [YAMLNode]) -> [DocumentResult] {
            var items: [DocumentResult] = []
            for document in documents where !document.isNull {
                let tables = fieldTables ?? (SpecFields.model, SpecFields.inferenceService)
                fieldTables = tables
                for item in expandLists([document]) where !item.isNull {
                    read += 1
                    items.append(readDocument(item, file: file, modelFields: tables.model, serviceFields: tables.service))
                }
            }
            return items
        }
        if let chunks = YAMLParser.chunks(bytes) {
            var used: [DocumentKey: ChunkResult] = [:]
            used.reserveCapacity(chunks.count)
            var results: [DocumentResult] = []
            var empty = true
            var nodes = 0
            var whole = false
            for chunk in chunks {
                let key = DocumentKey(firstLine: chunk.firstLine, bytes: chunk.bytes)
                let known: ChunkResult
                if let remembered = memo.results[key] ?? used[key] {
                    known = remembered
                } else {
                    guard let parsed = try? YAMLParser.parseChunk(chunk) else {
                        whole = true
                        break
                    }
                    known = ChunkResult(results: readAll(parsed.documents), empty: parsed.documents.allSatisfy(\.isNull), nodes: parsed.nodes)
                }
                used[key] = known
                results += known.results
                empty = empty && known.empty
                nodes += known.nodes
            }
            if !whole && nodes <= YAMLParser.maxNodes {
                memo.results = used
                memo.lastRead = read
                return (results, empty)
            }
        }
        memo.results = [:]
        read = 0
        let documents: [YAMLNode]
        do {
            documents = try YAMLParser.parse(bytes)
        } catch {
            throw ConfigLoadError(errors: [ConfigError(file: file, mark: error.mark, field: "", message: "YAML syntax error: \(error.message)")])
        }
        let results = readAll(documents)
        memo.lastRead = read
        return (results, documents.allSatisfy(\.isNull))
    }

    /// What one document gives on its own: a Model or an InferenceService (nil after errors, or for a
    /// skipped kind), its metadata, and its errors and warnings.
    struct DocumentResult: Sendable {
        var model: Model?
        var service: InferenceService?
        var meta: (name: String, mark: SourceMark)?
        var entry: String
        /// The line the document starts on.
        var line: Int
        var errors: [ConfigError]
        var warnings: [ConfigWarning]
    }

    /// Reads one document against the schema, without looking at the others.
    static func readDocument(_ document: YAMLNode, file: String, modelFields: [SpecField], serviceFields: [SpecField]) -> DocumentResult {
        var reader = FieldReader(file: file)
        var warnings: [ConfigWarning] = []
        func done(_ entry: String, model: Model? = nil, service: InferenceService? = nil, meta: Metadata? = nil) -> DocumentResult {
            DocumentResult(
                model: model, service: service, meta: meta.map { ($0.name, $0.mark) }, entry: entry, line: document.mark.line,
                errors: reader.errors, warnings: warnings)
        }
        guard case .mapping(let pairs) = document.value else {
            reader.fail(document, "", "expected a mapping, found \(document.kindDescription)")
            return done("")
        }
        let top = Dictionary(
            pairs.compactMap { pair -> (String, YAMLNode)? in
                guard case .scalar(let key, _) = pair.key.value else { return nil }
                return (key, pair.value)
            }, uniquingKeysWith: { first, _ in first })
        guard let (kind, _) = readKind(top, document: document, file: file, reader: &reader, warnings: &warnings) else { return done("") }
        guard let fields = reader.fields(document, "", allowed: documentFields) else { return done(kind) }
        // `status` (kubectl get -o yaml) belongs to the cluster: accepted, never read.
        let meta = readMetadata(fields["metadata"], kind: kind, document: document, reader: &reader)
        let entry = meta.map { "\(kind) \"\(ObjectName.qualified(namespace: $0.namespace, name: $0.name))\"" } ?? kind
        guard let specNode = fields["spec"], !specNode.isNull else {
            reader.fail(document, "\(entry) spec", "missing required field \"spec\"")
            return done(entry)
        }
        switch kind {
        case "Model":
            let model = readModel(specNode, entry: entry, folder: directory(of: file), fields: modelFields, reader: &reader)
            guard let meta, var model else { return done(entry) }
            model.name = meta.name
            model.namespace = meta.namespace
            model.mark = document.mark
            return done(entry, model: model, meta: meta)
        default:
            let service = readService(specNode, entry: entry, fields: serviceFields, reader: &reader)
            let agentFields = meta.map { readAgentAnnotations($0, entry: entry, reader: &reader) }
            guard let meta, var service, let agentFields else { return done(entry) }
            service.name = meta.name
            service.namespace = meta.namespace
            service.mark = document.mark
            service.file = file
            if !apply(agentFields, to: &service, entry: entry, reader: &reader) { return done(entry) }
            return done(entry, service: service, meta: meta)
        }
    }

    /// Puts files together, in order, as `kubectl apply -f` of each would: Models and InferenceServices
    /// of every file, keyed by namespace and name.
    ///
    /// A file whose objects clash with an earlier file's (the same Model or InferenceService name in one
    /// namespace, or a `spec.port` already taken) is left out whole, and its errors are returned under
    /// its path; the other files stay in. Two entries whose `endpoint.port` or `containerPort` collide
    /// are not an error (in a cluster each has its own address): the later one gets a free port and a
    /// `PortConflict` warning. Such a port also gives way to any entry's fixed `spec.port`, in whatever
    /// file or order that entry comes.
    public static func merge(_ files: [ConfigFile]) -> (config: AgentConfig, rejected: [String: [ConfigError]]) {
        var config = AgentConfig(file: files.first?.file ?? "", models: [:], services: [])
        config.files = files.map(\.file)
        var rejected: [String: [ConfigError]] = [:]
        var fixedPorts: [Int: String] = [:]
        var serviceFiles: [String: String] = [:]
        for file in files {
            var errors: [ConfigError] = []
            for model in file.models {
                if let other = config.models[model.qualifiedName] {
                    errors.append(
                        ConfigError(
                            file: file.file, mark: model.mark, field: "Model \"\(model.qualifiedName)\" metadata.name",
                            message: "duplicate Model name \"\(model.name)\" (first defined in \(other.file):\(other.mark.line))"))
                }
            }
            for service in file.services {
                if let other = serviceFiles[service.qualifiedName] {
                    errors.append(
                        ConfigError(
                            file: file.file, mark: service.mark, field: "InferenceService \"\(service.qualifiedName)\" metadata.name",
                            message: "duplicate InferenceService name \"\(service.name)\" (first defined in \(other))"))
                }
                if let port = service.port, service.portSource == "spec.port" || service.portSource == AgentAnnotations.port,
                    let owner = fixedPorts[port]
                {
                    errors.append(
                        ConfigError(
                            file: file.file, mark: service.fieldMarks["spec.port"] ?? service.mark,
                            field: "InferenceService \"\(service.qualifiedName)\" spec.port",
                            message: "port \(port) is already the fixed port of InferenceService \"\(owner)\""))
                }
            }
            if !errors.isEmpty {
                rejected[file.file] = errors
                continue
            }
            for model in file.models { config.models[model.qualifiedName] = model }
            config.warnings += file.warnings
            for service in file.services {
                serviceFiles[service.qualifiedName] = "\(file.file):\(service.mark.line)"
                // A parked entry's spec.port still claims its port (it runs nothing, but may again).
                if let port = service.port, service.portSource == "spec.port" || service.portSource == AgentAnnotations.port {
                    fixedPorts[port] = service.qualifiedName
                }
                config.services.append(service)
            }
        }
        // endpoint.port / containerPort, once every fixed port is known: a cluster gives each Service its
        // own address, so on one node a taken one gives way. A parked entry's claims nothing.
        var ports = fixedPorts
        for index in config.services.indices {
            let service = config.services[index]
            guard let port = service.port, let field = service.portSource, field != "spec.port", field != AgentAnnotations.port,
                service.replicas != 0, !service.suspend
            else { continue }
            guard let owner = ports[port] else {
                ports[port] = service.qualifiedName
                continue
            }
            let file = service.file.isEmpty ? config.file : service.file
            config.warnings.append(
                ConfigWarning(
                    subject: service.qualifiedName, reason: .PortConflict,
                    error: ConfigError(
                        file: file, mark: service.fieldMarks[field] ?? service.mark,
                        field: "InferenceService \"\(service.qualifiedName)\" \(field)",
                        message: "port \(port) is already used by InferenceService \"\(owner)\"; the agent picks a free port")))
            config.services[index].port = nil
            config.services[index].portSource = nil
        }
        return (config, rejected)
    }

    // MARK: - Documents

    /// Reads `apiVersion` and `kind`. Returns nil (after an error or an `IgnoredKind` warning) for a
    /// document that is not a Model or InferenceService of `inference.llmkube.dev/v1alpha1`.
    static func readKind(
        _ top: [String: YAMLNode], document: YAMLNode, file: String, reader: inout FieldReader,
        warnings: inout [ConfigWarning]
    ) -> (String, YAMLNode)? {
        guard let kindNode = top["kind"], !kindNode.isNull else {
            // Report every missing top-level field at once, not only the first.
            for field in ["apiVersion", "kind", "metadata", "spec"] where top[field] == nil || top[field]!.isNull {
                let hint = field == "kind" ? " (one of: \(kinds.joined(separator: ", ")))" : field == "apiVersion" ? " (\(apiVersion))" : ""
                reader.fail(document, field, "missing required field \"\(field)\"\(hint)")
            }
            return nil
        }
        guard let kind = reader.string(kindNode, "kind") else { return nil }
        let versionNode = top["apiVersion"].flatMap { $0.isNull ? nil : $0 }
        var version: String?
        if let versionNode {
            guard let v = reader.string(versionNode, "\(kind) apiVersion") else { return nil }
            version = v
        }
        let inGroup = version.map { $0.hasPrefix(group + "/") } ?? true
        if !kinds.contains(kind) {
            if inGroup && !otherGroupKinds.contains(kind) {
                let known = kinds + otherGroupKinds
                reader.fail(kindNode, "kind", "unknown kind \"\(kind)\"\(Suggestion.hint(for: kind, in: known)) (known: \(known.joined(separator: ", ")))")
                return nil
            }
            let name = metadataName(top["metadata"])
            let what = "\(kind)\(name.map { " \"\($0)\"" } ?? "")"
            warnings.append(
                ConfigWarning(
                    subject: what, reason: .IgnoredKind,
                    error: ConfigError(
                        file: file, mark: kindNode.mark, field: "\(what) kind",
                        message:
                            "\(version ?? "no apiVersion") \(kind) is not served by metal-agent (it reads \(kinds.joined(separator: " and ")) of \(apiVersion)); skipped"
                    )))
            return nil
        }
        if let versionNode, let version {
            if version != apiVersion {
                reader.fail(versionNode, "\(kind) apiVersion", "expected \"\(apiVersion)\", found \"\(version)\"")
            }
        } else {
            reader.fail(document, "\(kind) apiVersion", "missing required field \"apiVersion\" (\(apiVersion))")
        }
        return (kind, kindNode)
    }

    /// Documents with the items of every `v1` `List` in place of the list, as `kubectl get -o yaml` of
    /// several objects prints them and `kubectl apply -f` reads them.
    static func expandLists(_ documents: [YAMLNode]) -> [YAMLNode] {
        documents.flatMap { document -> [YAMLNode] in
            let top = present(document)
            guard text(top["apiVersion"]) == "v1", text(top["kind"]) == "List", case .sequence(let items)? = top["items"]?.value else {
                return [document]
            }
            return items
        }
    }

    /// `metadata.name` when it is a string, for messages about skipped documents.
    static func metadataName(_ node: YAMLNode?) -> String? {
        guard let node, case .mapping(let pairs) = node.value else { return nil }
        for pair in pairs {
            if case .scalar("name", _) = pair.key.value, case .scalar(let name, _) = pair.value.value { return name }
        }
        return nil
    }

    /// A document's validated `metadata`.
    struct Metadata {
        var name: String
        var namespace: String
        var mark: SourceMark
        var annotations: [String: (value: String, keyMark: SourceMark, valueMark: SourceMark)]
    }

    /// Reads `metadata`: `name` (a DNS-1123 subdomain), `namespace` (a DNS-1123 label, `default` when
    /// absent), labels and annotations (string maps); the cluster-owned fields `kubectl get -o yaml`
    /// prints are type-checked loosely and ignored. Returns nil after recording errors.
    static func readMetadata(_ node: YAMLNode?, kind: String, document: YAMLNode, reader: inout FieldReader) -> Metadata? {
        guard let node, !node.isNull else {
            reader.fail(document, "\(kind) metadata", "missing required field \"metadata\" with a \"name\"")
            return nil
        }
        let before = reader.errors.count
        guard let meta = reader.fields(node, "\(kind) metadata", allowed: metadataFields) else { return nil }
        func present(_ key: String) -> YAMLNode? { meta[key].flatMap { $0.isNull ? nil : $0 } }
        if let labels = present("labels") { reader.stringMap(labels, "\(kind) metadata.labels") }
        var annotations: [String: (value: String, keyMark: SourceMark, valueMark: SourceMark)] = [:]
        if let node = present("annotations") {
            reader.stringMap(node, "\(kind) metadata.annotations")
            if case .mapping(let pairs) = node.value {
                for pair in pairs {
                    if case .scalar(let key, _) = pair.key.value, case .scalar(let value, _) = pair.value.value {
                        annotations[key] = (value, pair.key.mark, pair.value.mark)
                    }
                }
            }
        }
        for key in ["generateName", "uid", "resourceVersion", "selfLink", "creationTimestamp", "deletionTimestamp"] {
            if let n = present(key) { _ = reader.string(n, "\(kind) metadata.\(key)") }
        }
        if let n = present("generation") { _ = reader.int(n, "\(kind) metadata.generation", in: 0...Int(Int64.max)) }
        if let n = present("deletionGracePeriodSeconds") { _ = reader.int(n, "\(kind) metadata.deletionGracePeriodSeconds", in: 0...Int(Int64.max)) }
        if let n = present("finalizers") { _ = reader.stringList(n, "\(kind) metadata.finalizers") }
        for key in ["ownerReferences", "managedFields"] {
            guard let n = present(key) else { continue }
            if case .sequence = n.value { continue }
            reader.fail(n, "\(kind) metadata.\(key)", "expected a list, found \(n.kindDescription)")
        }
        var namespace = ObjectName.defaultNamespace
        if let n = present("namespace"), let ns = reader.string(n, "\(kind) metadata.namespace") {
            if ObjectName.isDNS1123Label(ns) {
                namespace = ns
            } else {
                reader.fail(
                    n, "\(kind) metadata.namespace",
                    "\"\(ns)\" is not a DNS-1123 label: at most 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")
            }
        }
        guard let nameNode = present("name") else {
            reader.fail(node, "\(kind) metadata.name", "missing required field \"name\"")
            return nil
        }
        guard let name = reader.string(nameNode, "\(kind) metadata.name") else { return nil }
        guard ObjectName.isDNS1123Subdomain(name) else {
            reader.fail(
                nameNode, "\(kind) \"\(name)\" metadata.name",
                "\"\(name)\" is not a DNS-1123 subdomain: at most 253 characters of a-z, 0-9, '-' and '.', each dot-separated part starting and ending with a letter or digit"
            )
            return nil
        }
        guard reader.errors.count == before else { return nil }
        return Metadata(name: name, namespace: namespace, mark: nameNode.mark, annotations: annotations)
    }

    // MARK: - Specs

    /// The mapping entries of `node` whose values are not null ("not set").
    static func present(_ node: YAMLNode?) -> [String: YAMLNode] {
        guard let node, case .mapping(let pairs) = node.value else { return [:] }
        var map: [String: YAMLNode] = [:]
        for pair in pairs {
            if case .scalar(let key, _) = pair.key.value, !pair.value.isNull, map[key] == nil { map[key] = pair.value }
        }
        return map
    }

    static func text(_ node: YAMLNode?) -> String? {
        if let node, case .scalar(let s, _) = node.value { return s }
        return nil
    }

    static func integer(_ node: YAMLNode?) -> Int? { node.flatMap(KubernetesScalar.integer) }
    static func number(_ node: YAMLNode?) -> Double? { text(node).flatMap { Double($0) } }
    static func boolean(_ node: YAMLNode?) -> Bool? { node.flatMap(KubernetesScalar.boolean) }
    static func strings(_ node: YAMLNode?) -> [String] {
        guard let node, case .sequence(let items) = node.value else { return [] }
        return items.compactMap(text)
    }

    /// Reads one Model document's fields; `fields` is `SpecFields.model`, built once per file by the caller.
    static func readModel(_ node: YAMLNode, entry: String, folder: String, fields: [SpecField], reader: inout FieldReader) -> Model? {
        let before = reader.errors.count
        var validator = SpecValidator()
        validator.check(node, .object(fields), path: "spec", schemaPath: "", entry: entry, fieldClass: .node, reader: &reader)
        let spec = present(node)
        let hardware = present(spec["hardware"])
        let gpu = present(hardware["gpu"])
        if let name = text(gpu["resourceName"]), !name.isEmpty, case .sequence(let claims)? = gpu["resourceClaims"]?.value, !claims.isEmpty {
            reader.fail(
                gpu["resourceName"]!, "\(entry) spec.hardware.gpu",
                "resourceClaims and resourceName are mutually exclusive: use one or the other for GPU scheduling")
        }
        guard reader.errors.count == before, let written = text(spec["source"]), let sourceNode = spec["source"] else { return nil }
        let source: ModelSource
        do throws(ModelSource.ParseError) {
            source = try ModelSource.parse(written, folder: folder)
        } catch {
            reader.fail(sourceNode, "\(entry) spec.source", error.message)
            return nil
        }
        var model = Model(name: "", source: source)
        model.format = text(spec["format"]).flatMap(ModelFormat.init(rawValue:)) ?? .gguf
        model.sha256 = text(spec["sha256"])?.lowercased()
        model.gpuLayers = integer(gpu["layers"])
        // The CRD takes any string and any number here; a value this node cannot use leaves the agent's
        // own budget in force (README).
        model.memoryBudgetBytes = text(hardware["memoryBudget"]).flatMap(ByteQuantity.parse)
        model.memoryFraction = number(hardware["memoryFraction"]).flatMap { $0 > 0 && $0 <= 1 ? $0 : nil }
        model.gpuCount = integer(gpu["count"])
        let sharding = present(gpu["sharding"])
        model.shardingStrategy = text(sharding["strategy"])
        model.layerSplit = strings(sharding["layerSplit"])
        model.mmproj = text(spec["mmproj"]).flatMap { $0.isEmpty ? nil : try? ModelSource.parse($0, folder: folder) }
        model.ignoredFields = validator.sortedClusterFields
        model.fieldMarks = fieldMarks(spec)
        return model
    }

    /// Reads one InferenceService document's fields into the typed model.
    /// Long on purpose: one line per spec field, in the order of `SpecFields.swift`, like a table.
    /// `fields` is `SpecFields.inferenceService`, built once per file by the caller.
    static func readService(_ node: YAMLNode, entry: String, fields: [SpecField], reader: inout FieldReader) -> InferenceService? {
        let before = reader.errors.count
        var validator = SpecValidator()
        validator.check(node, .object(fields), path: "spec", schemaPath: "", entry: entry, fieldClass: .node, reader: &reader)
        let spec = present(node)
        // Env: names must be usable, and unique.
        if case .sequence(let items)? = spec["env"]?.value {
            var seen: Set<String> = []
            for (i, item) in items.enumerated() {
                guard let nameNode = present(item)["name"], let name = text(nameNode) else { continue }
                if name.isEmpty || name.contains("=") || name.contains("\0") {
                    reader.fail(nameNode, "\(entry) spec.env[\(i)].name", "\"\(name)\" is not a valid environment variable name")
                } else if !seen.insert(name).inserted {
                    reader.fail(nameNode, "\(entry) spec.env[\(i)].name", "duplicate environment variable \"\(name)\"")
                }
            }
        }
        if let node = spec["bindAddress"], let address = text(node), !address.isEmpty, !IPAddressText.isNumeric(address) {
            reader.fail(
                node, "\(entry) spec.bindAddress",
                "\"\(address)\" is not an IP address (127.0.0.1, 0.0.0.0, ::1, ...): the agent checks the port and probes the runtime at this address")
        }
        celRules(spec, entry: entry, reader: &reader)
        guard reader.errors.count == before else { return nil }

        var service = InferenceService(name: "", modelRef: text(spec["modelRef"]) ?? "")
        service.fieldMarks = fieldMarks(spec)
        if let written = text(spec["runtime"]), !written.isEmpty {
            service.runtime = RuntimeName.canonical(written) ?? written
        }
        service.replicas = integer(spec["replicas"]) ?? 1
        service.suspend = boolean(spec["suspend"]) ?? false
        service.contextSize = integer(spec["contextSize"])
        service.parallelSlots = integer(spec["parallelSlots"])
        service.flashAttention = boolean(spec["flashAttention"])
        service.jinja = boolean(spec["jinja"])
        service.extraArgs = strings(spec["extraArgs"])
        if case .sequence(let items)? = spec["env"]?.value {
            for item in items {
                let f = present(item)
                guard let name = text(f["name"]) else { continue }
                if f["valueFrom"] != nil, f["value"] == nil { continue }  // a cluster's secret or config map: ignored
                service.env.append(EnvVar(name: name, value: text(f["value"]) ?? ""))
            }
        }
        if let port = integer(spec["port"]) {
            service.port = port
            service.portSource = "spec.port"
        } else if let port = integer(present(spec["endpoint"])["port"]) {
            service.port = port
            service.portSource = "spec.endpoint.port"
            service.fieldMarks["spec.endpoint.port"] = present(spec["endpoint"])["port"]?.mark
        } else if let port = integer(spec["containerPort"]) {
            service.port = port
            service.portSource = "spec.containerPort"
        }
        if let v = integer(spec["terminationGracePeriodSeconds"]) { service.terminationGracePeriodSeconds = v }
        if let v = text(spec["restartPolicy"]).flatMap(RestartPolicy.init(rawValue:)) { service.restartPolicy = v }
        service.startupTimeoutSeconds = integer(spec["startupTimeoutSeconds"])
        service.bindAddress = text(spec["bindAddress"]).flatMap { $0.isEmpty ? nil : $0 }

        var t = RuntimeTuning()
        t.cacheTypeK = text(spec["cacheTypeCustomK"]).flatMap { $0.isEmpty ? nil : $0 } ?? text(spec["cacheTypeK"])
        t.cacheTypeV = text(spec["cacheTypeCustomV"]).flatMap { $0.isEmpty ? nil : $0 } ?? text(spec["cacheTypeV"])
        t.batchSize = integer(spec["batchSize"])
        t.uBatchSize = integer(spec["uBatchSize"])
        t.moeCPUOffload = boolean(spec["moeCPUOffload"])
        t.moeCPULayers = integer(spec["moeCPULayers"])
        t.noKvOffload = boolean(spec["noKvOffload"])
        t.noWarmup = boolean(spec["noWarmup"])
        t.reasoningBudget = integer(spec["reasoningBudget"])
        t.reasoningBudgetMessage = text(spec["reasoningBudgetMessage"])
        t.metadataOverrides = strings(spec["metadataOverrides"])
        t.tensorOverrides = strings(spec["tensorOverrides"])
        let rope = present(spec["ropeScaling"])
        t.ropeScalingType = text(rope["type"])
        t.ropeScalingFactor = text(rope["factor"])
        t.ropeScalingOriginalContext = integer(rope["originalContext"])
        t.mode = text(spec["mode"])
        let speculative = present(spec["speculativeDecoding"])
        t.speculativeType = text(speculative["type"])
        t.draftModelRef = text(speculative["draftModelRef"]).flatMap { $0.isEmpty ? nil : $0 }
        t.draftModel = text(speculative["draftModel"]).flatMap { $0.isEmpty ? nil : $0 }
        t.nDraftMax = integer(speculative["nDraftMax"])
        t.pMin = number(speculative["pMin"])
        service.tuning = t
        service.ignoredFields = validator.sortedClusterFields
        service.nodeFields = validator.nodeFields
        return service
    }

    /// The CRD's validation rules (`x-kubernetes-validations`, CEL) that a per-field check cannot see.
    static func celRules(_ spec: [String: YAMLNode], entry: String, reader: inout FieldReader) {
        func nonEmpty(_ node: YAMLNode?) -> Bool { text(node).map { !$0.isEmpty } ?? false }
        if let node = spec["speculativeDecoding"] {
            let s = present(node)
            let type = text(s["type"]) ?? ""
            let hasRef = nonEmpty(s["draftModelRef"]), hasFile = nonEmpty(s["draftModel"])
            let label = "\(entry) spec.speculativeDecoding"
            if ["draft", "draft-simple", "draft-eagle3", "draft-dflash", "draft-dspark"].contains(type), !hasRef, !hasFile {
                reader.fail(
                    node, label,
                    "type \(type) needs draft weights: set draftModelRef to a Model in the same namespace, or draftModel to a file beside the model")
            }
            if !["draft", "draft-simple", "draft-eagle3", "draft-dflash", "draft-dspark", "draft-mtp"].contains(type), hasRef || hasFile {
                reader.fail(node, label, "draft weights (draftModelRef or draftModel) are only valid for the draft-model types; \(type) needs none")
            }
            if hasRef && hasFile {
                reader.fail(node, label, "set only one of draftModelRef and draftModel, not both")
            }
        }
        if let node = spec["modelCache"] {
            let c = present(node)
            if text(c["persistence"]) == "Ephemeral", c["claimName"] != nil {
                reader.fail(node, "\(entry) spec.modelCache", "claimName cannot be set when persistence is Ephemeral")
            }
        }
        if let node = spec["slo"] {
            let s = present(node)
            if text(s["indicator"]) == "latency", s["latencyThreshold"] == nil {
                reader.fail(node, "\(entry) spec.slo", "latencyThreshold is required when indicator is latency")
            }
            if let objective = s["objective"], let v = number(objective), !(50...99.999).contains(v) {
                reader.fail(objective, "\(entry) spec.slo.objective", "objective must be a number between 50 and 99.999, found \(text(objective) ?? "")")
            }
        }
        if let node = present(spec["resources"])["gpuSharing"] {
            let g = present(node)
            let mode = text(g["mode"])
            let label = "\(entry) spec.resources.gpuSharing"
            if mode == "partitioned", !nonEmpty(g["profile"]) { reader.fail(node, label, "profile is required when mode is partitioned") }
            if nonEmpty(g["profile"]), mode != "partitioned" { reader.fail(node, label, "profile is only valid when mode is partitioned") }
            if g["memoryLimitGiB"] != nil, mode != "shared" { reader.fail(node, label, "memoryLimitGiB is only valid when mode is shared") }
        }
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
    public static func isDNS1123Label(_ name: String) -> Bool { ObjectName.isDNS1123Label(name) }
}
