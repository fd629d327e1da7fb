import ConfigModel
import Executors
import Foundation

/// Resolves every InferenceService of a valid config against the node: runtime (spec or default),
/// enabled runtimes, executor, model format and model file. Entry errors become `.failed` entries;
/// every other entry is unaffected by them.
struct DesiredStateBuilder: Sendable {
    var node: NodeRuntimes

    typealias FileCheck = @Sendable (String) -> (exists: Bool, isDirectory: Bool)

    func build(_ config: AgentConfig, fileExists: FileCheck = DesiredStateBuilder.stat) -> [DesiredService] {
        zip(config.services, entries(config, fileExists: fileExists)).map { service, entry in
            var desired = entry
            var serves = false
            if case .run = entry.action { serves = true }
            desired.route = GatewayRoute(
                name: entry.name, namespace: service.namespace, shortName: service.name, aliases: service.aliases,
                runtime: entry.baseStatus.runtime, serves: serves, onDemand: service.onDemand, idleTimeout: service.idleTimeout,
                exclusiveGroup: service.exclusiveGroup)
            return desired
        }
    }

    private func entries(_ config: AgentConfig, fileExists: FileCheck) -> [DesiredService] {
        config.services.map { service in
            let key = service.qualifiedName
            let entryName = "InferenceService \"\(key)\""
            let file = service.file.isEmpty ? config.file : service.file
            var status = ServiceStatus(name: key, model: service.modelRef, phase: .Pending)
            status.namespace = service.namespace
            status.onDemand = service.onDemand
            status.requestsInFlight = 0
            func failed(_ reason: String, _ field: String, at mark: SourceMark?, _ message: String, file explicitFile: String? = nil) -> DesiredService {
                // A position inside the Model's document is in the Model's file (which may be another config file).
                var errorFile = explicitFile
                if errorFile == nil, let model = config.model(for: service), !model.file.isEmpty, let mark,
                   model.fieldMarks.values.contains(mark), service.fieldMarks.values.contains(mark) == false {
                    errorFile = model.file
                }
                let diagnostic = EntryDiagnostic(
                    service: key, reason: reason,
                    error: ConfigError(file: errorFile ?? file, mark: mark ?? service.mark, field: "\(entryName) \(field)", message: message))
                var s = status
                s.phase = .Failed
                s.reason = reason
                s.message = diagnostic.error.description
                var desired = DesiredService(name: key, action: .failed(diagnostic), baseStatus: s, specHash: nil)
                desired.warnings = ignoredFieldWarnings(service, executor: nil, file: file)
                return desired
            }
            let modelRefMark = service.fieldMarks["spec.modelRef"]
            guard let model = config.model(for: service) else {
                // As in a cluster: the entry waits for its Model, which any config file may define later.
                return failed("ModelNotFound", "spec.modelRef", at: modelRefMark,
                              "no Model named \"\(service.modelRef)\" in namespace \(service.namespace) in any config file; the entry starts once one defines it")
            }
            status.format = model.format.rawValue
            let runtimeMark = service.fieldMarks["spec.runtime"]
            let runtime: ResolvedRuntime
            do throws(RuntimeResolutionError) {
                runtime = try resolveRuntime(service, default: node.defaultRuntime, enabled: Set(node.binaries.keys))
            } catch {
                switch error {
                case .notEnabled(let name, let source, _):
                    status.runtime = name
                    status.runtimeSource = source.rawValue
                case .notSupported(let name, _):
                    status.runtime = name
                    status.runtimeSource = RuntimeSource.spec.rawValue
                    return failed("RuntimeNotSupported", "spec.runtime", at: runtimeMark, error.description)
                case .unknown:
                    break
                }
                return failed("RuntimeNotEnabled", "spec.runtime", at: runtimeMark, error.description)
            }
            status.runtime = runtime.name
            status.runtimeSource = runtime.source.rawValue
            // A parked entry is not checked further: its model may not be on this node yet.
            if service.replicas == 0 || service.suspend {
                status.phase = .Stopped
                status.reason = service.suspend ? "Suspended" : "ScaledToZero"
                status.message = service.suspend ? "spec.suspend is true" : "spec.replicas is 0"
                var desired = DesiredService(name: key, action: .stopped, baseStatus: status, specHash: nil)
                desired.warnings = ignoredFieldWarnings(service, executor: node.registry.executor(for: runtime.name), file: file)
                return desired
            }
            let servable = Set(node.registry.runtimeNames.compactMap { node.registry.executor(for: $0) }.flatMap(\.formats))
            guard servable.contains(model.format) else {
                let list = node.registry.runtimeNames.compactMap { node.registry.executor(for: $0) }
                    .map { "\($0.formats.map(\.rawValue).sorted().joined(separator: ", ")) (\($0.name))" }.joined(separator: " and ")
                return failed("FormatNotSupported", "spec.modelRef", at: model.fieldMarks["spec.format"] ?? modelRefMark,
                              "Model \"\(model.name)\" has format \(model.format.rawValue); this agent serves \(list)")
            }
            guard let executor = node.registry.executor(for: runtime.name), let binary = node.binaries[runtime.name] else {
                return failed("RuntimeNotEnabled", "spec.runtime", at: runtimeMark, "no executor for runtime \"\(runtime.name)\"")
            }
            guard executor.formats.contains(model.format) else {
                let wants = executor.formats.map(\.rawValue).sorted().joined(separator: ", ")
                let from = runtime.source == .spec ? "spec.runtime" : "the agent's default runtime"
                return failed("FormatMismatch", "spec.modelRef", at: modelRefMark,
                              "Model \"\(model.name)\" has format \(model.format.rawValue), but runtime \(runtime.name) (from \(from)) serves \(wants)")
            }
            let sourceMark = model.fieldMarks["spec.source"]
            let path: String
            var fetch: ModelFetch?
            switch ModelLocation.resolve(model, store: node.modelStore, environment: node.environment) {
            case .failure(let problem):
                return failed(problem.reason, "spec.modelRef", at: sourceMark ?? modelRefMark, problem.message)
            case .success(let location):
                path = location.path
                fetch = location.fetch
            }
            status.modelPath = path
            var mmprojPath: String?
            switch model.mmproj {
            case .remote(let url)?, .http(let url)?:
                return failed("UnsupportedModelSource", "spec.modelRef", at: model.fieldMarks["spec.mmproj"] ?? modelRefMark,
                              "Model \"\(model.name)\" mmproj \(url) is not a local path; download it and point spec.mmproj at the file")
            case .huggingFace(let hf)?:
                return failed("UnsupportedModelSource", "spec.modelRef", at: model.fieldMarks["spec.mmproj"] ?? modelRefMark,
                              "Model \"\(model.name)\" mmproj \(hf) is not a local path; download it and point spec.mmproj at the file")
            case .home(let rest)?:
                guard let home = node.environment["HOME"], !home.isEmpty else {
                    return failed("ModelNotFound", "spec.modelRef", at: model.fieldMarks["spec.mmproj"] ?? modelRefMark,
                                  "Model \"\(model.name)\": mmproj ~/\(rest) needs HOME, which is not set for the agent")
                }
                let p = (home as NSString).appendingPathComponent(rest)
                guard fileExists(p).exists else {
                    return failed("ModelNotFound", "spec.modelRef", at: model.fieldMarks["spec.mmproj"] ?? modelRefMark,
                                  "Model \"\(model.name)\": mmproj file \(p) does not exist")
                }
                mmprojPath = p
            case .path(let p)?:
                guard fileExists(p).exists else {
                    return failed("ModelNotFound", "spec.modelRef", at: model.fieldMarks["spec.mmproj"] ?? modelRefMark,
                                  "Model \"\(model.name)\": mmproj file \(p) does not exist")
                }
                mmprojPath = p
            case nil:
                break
            }
            var draftPath: String?
            if let ref = service.tuning.draftModelRef {
                guard let draft = config.model(named: ref, namespace: service.namespace), case .path(let p) = draft.source else {
                    return failed("ModelNotFound", "spec.speculativeDecoding.draftModelRef", at: service.fieldMarks["spec.speculativeDecoding"],
                                  "no local Model named \"\(ref)\" in namespace \(service.namespace) for the draft model")
                }
                draftPath = p
            } else if let name = service.tuning.draftModel {
                draftPath = name.hasPrefix("/") ? name : (path as NSString).deletingLastPathComponent + "/" + name
            }
            if let draftPath, service.tuning.speculativeType != nil, !fileExists(draftPath).exists {
                return failed("ModelNotFound", "spec.speculativeDecoding", at: service.fieldMarks["spec.speculativeDecoding"],
                              "draft model file \(draftPath) does not exist")
            }
            var found = fileExists(path)
            if let fetch, fetch.downloads {
                // Downloaded into the store before the start: a file, or a folder for a whole repository.
                found = (exists: true, isDirectory: model.format == .mlx)
            }
            if !found.exists {
                return failed("ModelNotFound", "spec.modelRef", at: sourceMark ?? modelRefMark,
                              "Model \"\(model.name)\": \(model.format == .mlx ? "folder" : "file") \(path) does not exist")
            }
            if model.format == .mlx && !found.isDirectory {
                return failed("ModelNotFound", "spec.modelRef", at: sourceMark ?? modelRefMark, "Model \"\(model.name)\": MLX model \(path) is not a folder")
            }
            if model.format == .gguf && found.isDirectory {
                return failed("ModelNotFound", "spec.modelRef", at: sourceMark ?? modelRefMark, "Model \"\(model.name)\": GGUF model \(path) is a folder, not a file")
            }
            let resolved = ResolvedService(
                service: service, model: model, modelPath: path, runtime: runtime, binary: binary, host: service.bindAddress ?? node.host,
                port: service.port ?? 0, mmprojPath: mmprojPath, draftModelPath: draftPath, version: node.versions[runtime.name])
            var hash = SpecHash.of(executor.launch(resolved))
            if let fetch {
                // A new digest or URL re-checks the model, even when the runtime's argv stays the same.
                hash = SpecHash.of([hash, fetch.source, model.sha256 ?? ""])
            }
            status.specHash = hash
            status.spec = Self.summary(service, model: model, runtime: runtime, binary: binary)
            var desired = DesiredService(name: key, action: .run(resolved, executor), baseStatus: status, specHash: hash)
            desired.fetch = fetch
            desired.warnings = overriddenFlags(service, executor: executor, launch: executor.launch(resolved), file: file)
                + ignoredFieldWarnings(service, executor: executor, binary: binary, file: file)
            return desired
        }
    }

    /// Warnings about the config as a whole: one `IgnoredField` per Model that sets cluster fields, and
    /// the loader's (`IgnoredKind` for documents of other kinds, `PortConflict`).
    func configWarnings(_ config: AgentConfig) -> [EntryDiagnostic] {
        let models = config.models.values.sorted { ($0.file, $0.mark.line) < ($1.file, $1.mark.line) }.compactMap { model -> EntryDiagnostic? in
            guard let first = model.ignoredFields.first else { return nil }
            let list = model.ignoredFields.map(\.path).joined(separator: ", ")
            return EntryDiagnostic(
                service: model.qualifiedName, reason: "IgnoredField",
                error: ConfigError(file: model.file.isEmpty ? config.file : model.file, mark: first.mark, field: "Model \"\(model.qualifiedName)\" spec",
                                   message: "cluster fields, accepted and ignored on this node: \(list)"))
        }
        return config.warnings.map { EntryDiagnostic(service: $0.subject, reason: $0.reason, error: $0.error) } + models
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
            let unsupported = executor.unsupportedFields(service, binary: binary ?? node.binaries[executor.name] ?? "").filter { service.nodeFields.contains($0) }
                .sorted { (service.fieldMarks["spec.\($0)"]?.line ?? 0, $0) < (service.fieldMarks["spec.\($1)"]?.line ?? 0, $1) }
            if !unsupported.isEmpty {
                let list = unsupported.map { "spec.\($0)" }.joined(separator: ", ")
                parts.append("\(executor.name) has no setting for \(list); \(unsupported.count == 1 ? "it has" : "they have") no effect")
                mark = mark ?? service.fieldMarks["spec.\(unsupported[0])"]
            }
        }
        guard !parts.isEmpty else { return [] }
        return [EntryDiagnostic(
            service: service.qualifiedName, reason: "IgnoredField",
            error: ConfigError(file: file, mark: mark ?? service.mark, field: "InferenceService \"\(service.qualifiedName)\" spec",
                               message: parts.joined(separator: "; ")))]
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
            guard managed.contains(flag), set.contains(executor.canonicalFlag(flag)), seen.insert(flag).inserted else { return nil }
            return EntryDiagnostic(
                service: service.qualifiedName, reason: "OverriddenFlag",
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
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        return (exists, isDirectory.boolValue)
    }
}
