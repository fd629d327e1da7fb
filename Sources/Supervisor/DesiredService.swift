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
        case failed(reason: String, message: String)
    }

    var name: String
    var action: Action
    /// The status fields known before anything runs (runtime, model, format).
    var baseStatus: ServiceStatus
    /// Fingerprint of what would run (binary, argv without an assigned port, env); nil unless runnable.
    var specHash: String?
}

/// Resolves every InferenceService of a valid config against the node: runtime (spec or default),
/// enabled runtimes, executor, model format and model file. Entry errors become `.failed` entries;
/// every other entry is unaffected by them.
struct DesiredStateBuilder: Sendable {
    var defaultRuntime: String
    /// Enabled runtime -> binary.
    var binaries: [String: String]
    var host: String
    var registry: ExecutorRegistry

    func build(_ config: AgentConfig, fileExists: (String) -> (exists: Bool, isDirectory: Bool) = DesiredStateBuilder.stat) -> [DesiredService] {
        config.services.map { service in
            var status = ServiceStatus(name: service.name, model: service.modelRef, phase: .Pending)
            guard let model = config.model(for: service) else {
                return failed(service.name, status, "ModelNotFound", "no Model named \"\(service.modelRef)\"")
            }
            status.format = model.format.rawValue
            let runtime: ResolvedRuntime
            do throws(RuntimeResolutionError) {
                runtime = try resolveRuntime(service, default: defaultRuntime, enabled: Set(binaries.keys))
            } catch {
                if case .notEnabled(let name, let source, _) = error {
                    status.runtime = name
                    status.runtimeSource = source.rawValue
                }
                return failed(service.name, status, "RuntimeNotEnabled", error.description)
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
            guard let executor = registry.executor(for: runtime.name), let binary = binaries[runtime.name] else {
                return failed(service.name, status, "RuntimeNotEnabled", "no executor for runtime \"\(runtime.name)\"")
            }
            guard executor.formats.contains(model.format) else {
                let wants = executor.formats.map(\.rawValue).sorted().joined(separator: ", ")
                return failed(service.name, status, "FormatMismatch",
                              "Model \"\(model.name)\" has format \(model.format.rawValue), but runtime \(runtime.name) serves \(wants)")
            }
            let path: String
            switch model.source {
            case .remote(let url):
                return failed(service.name, status, "UnsupportedModelSource",
                              "Model \"\(model.name)\" source \(url) is not a local path; download it and point spec.source at the file")
            case .path(let p):
                path = p
            }
            status.modelPath = path
            let found = fileExists(path)
            if !found.exists {
                return failed(service.name, status, "ModelNotFound", "model \(model.format == .mlx ? "folder" : "file") \(path) does not exist")
            }
            if model.format == .mlx && !found.isDirectory {
                return failed(service.name, status, "ModelNotFound", "MLX model \(path) is not a folder")
            }
            if model.format == .gguf && found.isDirectory {
                return failed(service.name, status, "ModelNotFound", "GGUF model \(path) is a folder, not a file")
            }
            let resolved = ResolvedService(
                service: service, model: model, modelPath: path, runtime: runtime, binary: binary, host: host,
                port: service.port ?? 0)
            let hash = SpecHash.of(executor.launch(resolved))
            status.specHash = hash
            return DesiredService(name: service.name, action: .run(resolved, executor), baseStatus: status, specHash: hash)
        }
    }

    private func failed(_ name: String, _ base: ServiceStatus, _ reason: String, _ message: String) -> DesiredService {
        var status = base
        status.phase = .Failed
        status.reason = reason
        status.message = message
        return DesiredService(name: name, action: .failed(reason: reason, message: message), baseStatus: status, specHash: nil)
    }

    static func stat(_ path: String) -> (exists: Bool, isDirectory: Bool) {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        return (exists, isDirectory.boolValue)
    }
}
