import ConfigModel
import Executors
import Foundation

/// What the config asks for one InferenceService, resolved against this node.
struct DesiredService: Sendable {
    enum Action: Sendable {
        /// Run it: `resolved.port` is `spec.port`, or 0 until the agent assigns one.
        case run(ResolvedService, any RuntimeExecutor)
        /// `spec.replicas: 0`.
        case stopped
        /// An entry error: it cannot run on this node as written.
        case failed(EntryDiagnostic)
    }

    var name: String
    var action: Action
    /// The status fields known before anything runs (runtime, model, format).
    var baseStatus: ServiceStatus
    /// Fingerprint of what would run (binary, argv without an assigned port, env); nil unless runnable.
    var specHash: String?
    /// Things that work but are probably not what was meant (extraArgs repeating a flag the agent sets).
    var warnings: [EntryDiagnostic] = []
    /// What must happen before the runtime starts (a download, a checksum); nil when the model is ready as it is.
    var fetch: ModelFetch?
}

/// Resolves every InferenceService of a valid config against the node: runtime (spec or default),
/// enabled runtimes, executor, model format and model file. Entry errors become `.failed` entries;
/// every other entry is unaffected by them.
struct DesiredStateBuilder: Sendable {
    var node: NodeRuntimes

    typealias FileCheck = @Sendable (String) -> (exists: Bool, isDirectory: Bool)

    func build(_ config: AgentConfig, fileExists: FileCheck = DesiredStateBuilder.stat) -> [DesiredService] {
        config.services.map { service in
            var status = ServiceStatus(name: service.name, model: service.modelRef, phase: .Pending)
            func failed(_ reason: String, _ field: String, at mark: SourceMark?, _ message: String) -> DesiredService {
                let diagnostic = EntryDiagnostic(
                    service: service.name, reason: reason,
                    error: ConfigError(file: config.file, mark: mark ?? service.mark, field: "InferenceService \"\(service.name)\" \(field)", message: message))
                var s = status
                s.phase = .Failed
                s.reason = reason
                s.message = diagnostic.error.description
                return DesiredService(name: service.name, action: .failed(diagnostic), baseStatus: s, specHash: nil)
            }
            let modelRefMark = service.fieldMarks["spec.modelRef"]
            guard let model = config.model(for: service) else {
                return failed("ModelNotFound", "spec.modelRef", at: modelRefMark, "no Model named \"\(service.modelRef)\"")
            }
            status.format = model.format.rawValue
            let runtimeMark = service.fieldMarks["spec.runtime"]
            let runtime: ResolvedRuntime
            do throws(RuntimeResolutionError) {
                runtime = try resolveRuntime(service, default: node.defaultRuntime, enabled: Set(node.binaries.keys))
            } catch {
                if case .notEnabled(let name, let source, _) = error {
                    status.runtime = name
                    status.runtimeSource = source.rawValue
                }
                return failed("RuntimeNotEnabled", "spec.runtime", at: runtimeMark, error.description)
            }
            status.runtime = runtime.name
            status.runtimeSource = runtime.source.rawValue
            // A parked entry is not checked further: its model may not be on this node yet.
            if service.replicas == 0 {
                status.phase = .Stopped
                status.reason = "ScaledToZero"
                status.message = "spec.replicas is 0"
                return DesiredService(name: service.name, action: .stopped, baseStatus: status, specHash: nil)
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
                service: service, model: model, modelPath: path, runtime: runtime, binary: binary, host: node.host,
                port: service.port ?? 0)
            var hash = SpecHash.of(executor.launch(resolved))
            if let fetch {
                // A new digest or URL re-checks the model, even when the runtime's argv stays the same.
                hash = SpecHash.of([hash, fetch.source, model.sha256 ?? ""])
            }
            status.specHash = hash
            status.spec = Self.summary(service, model: model, runtime: runtime, binary: binary)
            var desired = DesiredService(name: service.name, action: .run(resolved, executor), baseStatus: status, specHash: hash)
            desired.fetch = fetch
            desired.warnings = overriddenFlags(service, executor: executor, file: config.file)
                + executor.ignoredFields.compactMap { field in
                    guard let mark = service.fieldMarks[field] else { return nil }
                    return EntryDiagnostic(
                        service: service.name, reason: "IgnoredField",
                        error: ConfigError(file: config.file, mark: mark, field: "InferenceService \"\(service.name)\" \(field)",
                                           message: "\(executor.name) has no setting for \(field); it has no effect"))
                }
            return desired
        }
    }

    /// A warning for each `spec.extraArgs` flag that repeats one the executor sets itself.
    /// The runtime keeps the last occurrence, so the extraArgs value wins (llama.cpp's argument parser
    /// and Python's argparse both overwrite on repeat).
    private func overriddenFlags(_ service: InferenceService, executor: any RuntimeExecutor, file: String) -> [EntryDiagnostic] {
        let managed = executor.managedFlags
        var seen: Set<String> = []
        return service.extraArgs.compactMap { arg in
            let flag = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            guard managed.contains(flag), seen.insert(flag).inserted else { return nil }
            return EntryDiagnostic(
                service: service.name, reason: "OverriddenFlag",
                error: ConfigError(
                    file: file, mark: service.fieldMarks["spec.extraArgs"] ?? service.mark,
                    field: "InferenceService \"\(service.name)\" spec.extraArgs",
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
