import ConfigModel
import Executors

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Resolves every InferenceService of a valid config against the node: runtime (spec or default),
/// enabled runtimes, executor, model format and model file. Entry errors become `.failed` entries;
/// every other entry is unaffected by them.
struct DesiredStateBuilder: Sendable {
    var node: NodeRuntimes
    /// Spec hashes of the last builds (hashing is the most expensive step of a build).
    let hashes = SpecHash.Memo()
    /// Each entry as the last build resolved it, and from what: unchanged entries are not resolved again.
    let memo = EntryMemo()

    typealias FileCheck = @Sendable (String) -> (exists: Bool, isDirectory: Bool)

    /// Resolves every InferenceService of `config` (in order); `fileExists` checks model files (tests
    /// pass their own).
    func build(_ config: AgentConfig, fileExists: @escaping FileCheck = DesiredStateBuilder.stat) -> [DesiredService] {
        hashes.nextRound()
        memo.begin(EntryMemo.NodeKey(node))
        defer { memo.end() }
        return entries(config, fileExists: fileExists)
    }

    /// Each entry resolved, with its gateway route (from the memo when nothing it reads changed).
    private func entries(_ config: AgentConfig, fileExists: @escaping FileCheck) -> [DesiredService] {
        config.services.map { service in
            let file = service.file.isEmpty ? config.file : service.file
            let inputs = EntryMemo.Inputs(
                service: service, model: config.model(for: service),
                draft: service.tuning.draftModelRef.flatMap { config.model(named: $0, namespace: service.namespace) }, file: file)
            return memo.entry(service.qualifiedName, inputs: inputs, fileExists: fileExists) { fileExists in
                var status = ServiceStatus(name: service.qualifiedName, model: service.modelRef, phase: .Pending)
                status.namespace = service.namespace
                status.onDemand = service.onDemand
                status.requestsInFlight = 0
                var desired: DesiredService
                do throws(EntryFailure) {
                    desired = try resolve(service, in: config, file: file, status: &status, fileExists: fileExists)
                } catch {
                    desired = failed(error, service: service, config: config, file: file, status: status)
                }
                var serves = false
                if case .run = desired.action { serves = true }
                desired.route = GatewayRoute(
                    name: desired.name, namespace: service.namespace, shortName: service.name, aliases: service.aliases,
                    runtime: desired.baseStatus.runtime, serves: serves, onDemand: service.onDemand, idleTimeout: service.idleTimeout,
                    exclusiveGroup: service.exclusiveGroup)
                return desired
            }
        }
    }

    /// Why an entry cannot run: its reason, the field and position to name, and a sentence.
    struct EntryFailure: Error {
        var reason: Reason
        var field: String
        var mark: SourceMark?
        var message: String

        init(_ reason: Reason, _ field: String, at mark: SourceMark?, _ message: String) {
            self.reason = reason
            self.field = field
            self.mark = mark
            self.message = message
        }
    }

    /// The `.failed` entry for `failure`, with the status the resolution reached so far.
    private func failed(_ failure: EntryFailure, service: InferenceService, config: AgentConfig, file: String, status: ServiceStatus) -> DesiredService {
        // A position inside the Model's document is in the Model's file (which may be another config file).
        var errorFile = file
        if let model = config.model(for: service), !model.file.isEmpty, let mark = failure.mark,
            model.fieldMarks.values.contains(mark), service.fieldMarks.values.contains(mark) == false
        {
            errorFile = model.file
        }
        let diagnostic = EntryDiagnostic(
            service: service.qualifiedName, reason: failure.reason,
            error: ConfigError(
                file: errorFile, mark: failure.mark ?? service.mark,
                field: "InferenceService \"\(service.qualifiedName)\" \(failure.field)", message: failure.message))
        var s = status
        s.phase = .Failed
        s.reason = failure.reason
        s.message = diagnostic.error.description
        var desired = DesiredService(name: service.qualifiedName, action: .failed(diagnostic), baseStatus: s, specHash: nil)
        desired.warnings = ignoredFieldWarnings(service, executor: nil, file: file)
        return desired
    }

    /// One entry: its Model, runtime, executor, formats and files; `status` gathers what is known as it
    /// goes (the runtime, the model path), so that a failure still shows it.
    /// - Throws: `EntryFailure` for the first thing that keeps the entry from running.
    private func resolve(
        _ service: InferenceService, in config: AgentConfig, file: String, status: inout ServiceStatus,
        fileExists: FileCheck
    ) throws(EntryFailure) -> DesiredService {
        let modelRefMark = service.fieldMarks["spec.modelRef"]
        guard let model = config.model(for: service) else {
            // As in a cluster: the entry waits for its Model, which any config file may define later.
            throw EntryFailure(
                .ModelNotFound, "spec.modelRef", at: modelRefMark,
                "no Model named \"\(service.modelRef)\" in namespace \(service.namespace) in any config file; the entry starts once one defines it")
        }
        status.format = model.format.rawValue
        let runtime = try resolveRuntime(of: service, status: &status)
        status.runtime = runtime.name
        status.runtimeSource = runtime.source.rawValue
        // A parked entry is not checked further: its model may not be on this node yet.
        if service.replicas == 0 || service.suspend {
            status.phase = .Stopped
            status.reason = service.suspend ? .Suspended : .ScaledToZero
            status.message = service.suspend ? "spec.suspend is true" : "spec.replicas is 0"
            var desired = DesiredService(name: service.qualifiedName, action: .stopped, baseStatus: status, specHash: nil)
            desired.warnings = ignoredFieldWarnings(service, executor: node.registry.executor(for: runtime.name), file: file)
            return desired
        }
        let (executor, binary) = try executor(for: runtime, model: model, service: service)
        let sourceMark = model.fieldMarks["spec.source"]
        let location: ModelLocation
        switch ModelLocation.resolve(model, store: node.modelStore, environment: node.environment) {
        case .failure(let problem): throw EntryFailure(problem.reason, "spec.modelRef", at: sourceMark ?? modelRefMark, problem.message)
        case .success(let found): location = found
        }
        let path = location.path
        status.modelPath = path
        let mmprojPath = try mmprojPath(model, modelRefMark: modelRefMark, fileExists: fileExists)
        let draftPath = try draftPath(service, in: config, modelPath: path, fileExists: fileExists)
        try checkModelFiles(model, path: path, downloads: location.fetch?.downloads == true, at: sourceMark ?? modelRefMark, fileExists: fileExists)
        let (placed, portWarning) = try placed(service, file: file)
        let resolved = ResolvedService(
            service: placed, model: model, modelPath: path, runtime: runtime, binary: binary, host: service.bindAddress ?? node.host,
            port: placed.port ?? 0, mmprojPath: mmprojPath, draftModelPath: draftPath, version: node.versions[runtime.name])
        let launch = executor.launch(resolved)
        var hash = hashes.of(launch)
        if let fetch = location.fetch {
            // A new digest or URL re-checks the model, even when the runtime's argv stays the same.
            hash = SpecHash.of([hash, fetch.source, model.sha256 ?? ""])
        }
        status.specHash = hash
        status.spec = Self.summary(service, model: model, runtime: runtime, binary: binary)
        var desired = DesiredService(name: service.qualifiedName, action: .run(resolved, executor), baseStatus: status, specHash: hash)
        desired.fetch = location.fetch
        desired.warnings =
            overriddenFlags(service, executor: executor, launch: launch, file: file)
            + ignoredFieldWarnings(service, executor: executor, binary: binary, file: file) + (portWarning.map { [$0] } ?? [])
        return desired
    }

    /// The entry with its port checked against the agent's own listeners: an `endpoint.port` or
    /// `containerPort` on one of them gives way (no port: the agent assigns one, as the agent tells
    /// fixed from assigned ports by `service.port`; and a `PortConflict` warning), as it does to another
    /// entry's; a fixed `spec.port` (or port annotation) on one cannot.
    /// - Throws: `EntryFailure(.PortInUse)` for a fixed port the agent itself listens on.
    private func placed(_ service: InferenceService, file: String) throws(EntryFailure) -> (InferenceService, EntryDiagnostic?) {
        guard let port = service.port, let listener = node.reservedPorts[port] else { return (service, nil) }
        let source = service.portSource ?? "spec.port"
        let field = source == AgentAnnotations.port ? "metadata.annotations[\(AgentAnnotations.port)]" : source
        let mark = service.fieldMarks[source] ?? service.mark
        if source == "spec.port" || source == AgentAnnotations.port {
            throw EntryFailure(.PortInUse, field, at: mark, "port \(port) is \(listener); give the entry another port, or move that listener")
        }
        let warning = EntryDiagnostic(
            service: service.qualifiedName, reason: .PortConflict,
            error: ConfigError(
                file: file, mark: mark, field: "InferenceService \"\(service.qualifiedName)\" \(field)",
                message: "port \(port) is \(listener); the agent picks a free port"))
        var placed = service
        placed.port = nil
        placed.portSource = nil
        return (placed, warning)
    }

    /// The entry's runtime (its own, else the agent's default), which must be supported and enabled here.
    private func resolveRuntime(of service: InferenceService, status: inout ServiceStatus) throws(EntryFailure) -> ResolvedRuntime {
        let runtimeMark = service.fieldMarks["spec.runtime"]
        do throws(RuntimeResolutionError) {
            return try ConfigModel.resolveRuntime(service, default: node.defaultRuntime, enabled: Set(node.binaries.keys))
        } catch {
            switch error {
            case .notEnabled(let name, let source, _):
                status.runtime = name
                status.runtimeSource = source.rawValue
            case .notSupported(let name, _):
                status.runtime = name
                status.runtimeSource = RuntimeSource.spec.rawValue
                throw EntryFailure(.RuntimeNotSupported, "spec.runtime", at: runtimeMark, error.description)
            case .unknown:
                break
            }
            throw EntryFailure(.RuntimeNotEnabled, "spec.runtime", at: runtimeMark, error.description)
        }
    }

    /// The runtime's executor and binary, once the Model's format is one this node serves and this
    /// runtime serves.
    private func executor(for runtime: ResolvedRuntime, model: Model, service: InferenceService) throws(EntryFailure) -> (any RuntimeExecutor, String) {
        let modelRefMark = service.fieldMarks["spec.modelRef"]
        let executors = node.registry.runtimeNames.compactMap { node.registry.executor(for: $0) }
        guard executors.contains(where: { $0.formats.contains(model.format) }) else {
            let list = executors.map { "\($0.formats.map(\.rawValue).sorted().joined(separator: ", ")) (\($0.name))" }.joined(separator: " and ")
            throw EntryFailure(
                .FormatNotSupported, "spec.modelRef", at: model.fieldMarks["spec.format"] ?? modelRefMark,
                "Model \"\(model.name)\" has format \(model.format.rawValue); this agent serves \(list)")
        }
        guard let executor = node.registry.executor(for: runtime.name), let binary = node.binaries[runtime.name] else {
            throw EntryFailure(.RuntimeNotEnabled, "spec.runtime", at: service.fieldMarks["spec.runtime"], "no executor for runtime \"\(runtime.name)\"")
        }
        guard executor.formats.contains(model.format) else {
            let wants = executor.formats.map(\.rawValue).sorted().joined(separator: ", ")
            let from = runtime.source == .spec ? "spec.runtime" : "the agent's default runtime"
            throw EntryFailure(
                .FormatMismatch, "spec.modelRef", at: modelRefMark,
                "Model \"\(model.name)\" has format \(model.format.rawValue), but runtime \(runtime.name) (from \(from)) serves \(wants)")
        }
        return (executor, binary)
    }

    /// The Model's multimodal projector file, which must be local and exist; nil when it has none.
    private func mmprojPath(_ model: Model, modelRefMark: SourceMark?, fileExists: FileCheck) throws(EntryFailure) -> String? {
        let mark = model.fieldMarks["spec.mmproj"] ?? modelRefMark
        let path: String
        switch model.mmproj {
        case nil:
            return nil
        case .remote(let url)?, .http(let url)?:
            throw EntryFailure(
                .UnsupportedModelSource, "spec.modelRef", at: mark,
                "Model \"\(model.name)\" mmproj \(url) is not a local path; download it and point spec.mmproj at the file")
        case .huggingFace(let hf)?:
            throw EntryFailure(
                .UnsupportedModelSource, "spec.modelRef", at: mark,
                "Model \"\(model.name)\" mmproj \(hf) is not a local path; download it and point spec.mmproj at the file")
        case .home(let rest)?:
            guard let home = node.environment["HOME"], !home.isEmpty else {
                throw EntryFailure(
                    .ModelNotFound, "spec.modelRef", at: mark,
                    "Model \"\(model.name)\": mmproj ~/\(rest) needs HOME, which is not set for the agent")
            }
            path = PathText.join(home, rest)
        case .path(let p)?:
            path = p
        }
        guard fileExists(path).exists else {
            throw EntryFailure(.ModelNotFound, "spec.modelRef", at: mark, "Model \"\(model.name)\": mmproj file \(path) does not exist")
        }
        return path
    }

    /// The speculative-decoding draft model's file (a local Model, or a file beside the model); nil
    /// when the entry has none.
    private func draftPath(_ service: InferenceService, in config: AgentConfig, modelPath: String, fileExists: FileCheck) throws(EntryFailure) -> String? {
        let mark = service.fieldMarks["spec.speculativeDecoding"]
        var draftPath: String?
        if let ref = service.tuning.draftModelRef {
            guard let draft = config.model(named: ref, namespace: service.namespace), case .path(let p) = draft.source else {
                throw EntryFailure(
                    .ModelNotFound, "spec.speculativeDecoding.draftModelRef", at: mark,
                    "no local Model named \"\(ref)\" in namespace \(service.namespace) for the draft model")
            }
            draftPath = p
        } else if let name = service.tuning.draftModel {
            draftPath = name.hasPrefix("/") ? name : PathText.parent(of: modelPath) + "/" + name
        }
        if let draftPath, service.tuning.speculativeType != nil, !fileExists(draftPath).exists {
            throw EntryFailure(.ModelNotFound, "spec.speculativeDecoding", at: mark, "draft model file \(draftPath) does not exist")
        }
        return draftPath
    }

    /// The model is where the runtime will look: a GGUF file, or an MLX folder (or downloaded there first).
    private func checkModelFiles(_ model: Model, path: String, downloads: Bool, at mark: SourceMark?, fileExists: FileCheck) throws(EntryFailure) {
        // Downloaded into the store before the start: a file, or a folder for a whole repository.
        let found = downloads ? (exists: true, isDirectory: model.format == .mlx) : fileExists(path)
        if !found.exists {
            throw EntryFailure(
                .ModelNotFound, "spec.modelRef", at: mark,
                "Model \"\(model.name)\": \(model.format == .mlx ? "folder" : "file") \(path) does not exist")
        }
        if model.format == .mlx && !found.isDirectory {
            throw EntryFailure(.ModelNotFound, "spec.modelRef", at: mark, "Model \"\(model.name)\": MLX model \(path) is not a folder")
        }
        if model.format == .gguf && found.isDirectory {
            throw EntryFailure(.ModelNotFound, "spec.modelRef", at: mark, "Model \"\(model.name)\": GGUF model \(path) is a folder, not a file")
        }
    }

    /// Warnings about the config as a whole: one `IgnoredField` per Model that sets cluster fields, and
    /// the loader's (`IgnoredKind` for documents of other kinds, `PortConflict`).
    func configWarnings(_ config: AgentConfig) -> [EntryDiagnostic] {
        let models = config.models.values.sorted { ($0.file, $0.mark.line) < ($1.file, $1.mark.line) }.compactMap { model -> EntryDiagnostic? in
            guard let first = model.ignoredFields.first else { return nil }
            let list = model.ignoredFields.map(\.path).joined(separator: ", ")
            return EntryDiagnostic(
                service: model.qualifiedName, reason: .IgnoredField,
                error: ConfigError(
                    file: model.file.isEmpty ? config.file : model.file, mark: first.mark, field: "Model \"\(model.qualifiedName)\" spec",
                    message: "cluster fields, accepted and ignored on this node: \(list)"))
        }
        return config.warnings.map { EntryDiagnostic(service: $0.subject, reason: Reason($0.reason), error: $0.error) } + models
    }

    /// One `IgnoredField` warning for an entry, listing every field it sets that this node does not act
    /// on: cluster fields, node fields the runtime has no setting for, and a `replicas` count above 1
    /// (one process runs). nil-free: no such field, no warning.
    private func ignoredFieldWarnings(_ service: InferenceService, executor: (any RuntimeExecutor)?, binary: String? = nil, file: String) -> [EntryDiagnostic] {
        var parts: [String] = []
        var mark: SourceMark?
        if !service.ignoredFields.isEmpty {
            parts.append("cluster fields, accepted and ignored on this node: " + service.ignoredFields.map(\.path).joined(separator: ", "))
            mark = service.ignoredFields.first?.mark
        }
        if service.replicas > 1 {
            parts.append("spec.replicas is \(service.replicas), but one node runs one process")
            mark = mark ?? service.fieldMarks["spec.replicas"]
        }
        if let executor {
            let unsupported = executor.unsupportedFields(service, binary: binary ?? node.binaries[executor.name] ?? "").filter {
                service.nodeFields.contains($0)
            }
            .sorted { (service.fieldMarks["spec.\($0)"]?.line ?? 0, $0) < (service.fieldMarks["spec.\($1)"]?.line ?? 0, $1) }
            if !unsupported.isEmpty {
                let list = unsupported.map { "spec.\($0)" }.joined(separator: ", ")
                parts.append("\(executor.name) has no setting for \(list); \(unsupported.count == 1 ? "it has" : "they have") no effect")
                mark = mark ?? service.fieldMarks["spec.\(unsupported[0])"]
            }
        }
        guard !parts.isEmpty else { return [] }
        return [
            EntryDiagnostic(
                service: service.qualifiedName, reason: .IgnoredField,
                error: ConfigError(
                    file: file, mark: mark ?? service.mark, field: "InferenceService \"\(service.qualifiedName)\" spec",
                    message: parts.joined(separator: "; ")))
        ]
    }

    /// A warning for each `spec.extraArgs` flag that repeats one the executor set in this launch (in
    /// any spelling: `-c` repeats `--ctx-size`). The runtime keeps the last occurrence, so the
    /// extraArgs value wins (llama.cpp's argument parser and Python's argparse both overwrite on repeat).
    private func overriddenFlags(_ service: InferenceService, executor: any RuntimeExecutor, launch: LaunchDescription, file: String) -> [EntryDiagnostic] {
        let managed = executor.managedFlags
        let own = launch.arguments.dropLast(service.extraArgs.count)
            .filter { $0.hasPrefix("-") && managed.contains($0) }.map(executor.canonicalFlag)
        let set = Set(own)
        var seen: Set<String> = []
        return service.extraArgs.compactMap { arg in
            let flag = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            let canonical = executor.canonicalFlag(flag)
            // One warning per flag, whatever its spellings (`--ctx_size` and `--ctx-size` are one flag).
            guard managed.contains(flag) || managed.contains(canonical), set.contains(canonical), seen.insert(canonical).inserted else { return nil }
            return EntryDiagnostic(
                service: service.qualifiedName, reason: .OverriddenFlag,
                error: ConfigError(
                    file: file, mark: service.fieldMarks["spec.extraArgs"] ?? service.mark,
                    field: "InferenceService \"\(service.qualifiedName)\" spec.extraArgs",
                    message: "\"\(flag)\" repeats a flag the agent sets for \(executor.name); extraArgs come last, so this value wins"))
        }
    }

    /// The resolved fields of an entry, flattened to strings, for the status file and `plan` diffs.
    static func summary(_ s: InferenceService, model: Model, runtime: ResolvedRuntime, binary: String) -> [String: String] {
        func text(_ value: (some CustomStringConvertible)?) -> String { value.map { "\($0)" } ?? "unset" }
        let source = model.source.display
        return [
            "spec.modelRef": s.modelRef,
            "spec.runtime": "\(runtime.name) (\(runtime.source.rawValue))",
            "spec.replicas": "\(s.replicas)",
            "spec.suspend": "\(s.suspend)",
            "spec.contextSize": text(s.contextSize),
            "spec.parallelSlots": text(s.parallelSlots),
            "spec.flashAttention": text(s.flashAttention),
            "spec.jinja": text(s.jinja),
            "spec.extraArgs": "[" + s.extraArgs.map { "\"\($0)\"" }.joined(separator: ", ") + "]",
            "spec.env": "[" + s.env.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") + "]",
            "spec.port": text(s.port),
            "spec.terminationGracePeriodSeconds": "\(s.terminationGracePeriodSeconds)",
            "spec.restartPolicy": s.restartPolicy.rawValue,
            "spec.startupTimeoutSeconds": text(s.startupTimeoutSeconds),
            "model.source": source,
            "model.format": model.format.rawValue,
            "model.gpuLayers": text(model.gpuLayers),
            "binary": binary,
        ]
    }

    @Sendable static func stat(_ path: String) -> (exists: Bool, isDirectory: Bool) {
        switch FileKind.of(path) {
        case .missing: (false, false)
        case .folder: (true, true)
        default: (true, false)
        }
    }
}
