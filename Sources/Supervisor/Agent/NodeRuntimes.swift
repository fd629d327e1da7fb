import ConfigModel
import Executors

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What this node can run: the default runtime, the enabled runtimes with their binaries, the bind
/// address, and the executors. The context entry checks and launches are resolved against.
public struct NodeRuntimes: Sendable {
    /// Runtime for entries without `spec.runtime` (canonical name).
    public var defaultRuntime: String
    /// Enabled runtime -> binary path; runtimes not listed are not enabled.
    public var binaries: [String: String]
    /// Address the runtimes bind.
    public var host: String
    /// The executors.
    public var registry: ExecutorRegistry
    /// Enabled runtime -> its binary's version, where known (flags are spelled for it).
    public var versions: [String: RuntimeVersion] = [:]
    /// Where downloaded models go; remote sources resolve to paths in it.
    public var modelStore = ModelStore(directory: ModelStore.defaultDirectory(environment: ProcessInfo.processInfo.environment))
    /// Environment for source resolution: `HOME` (`~/` paths), `HF_ENDPOINT` and `HF_TOKEN` (`hf://` sources).
    public var environment: [String: String] = ProcessInfo.processInfo.environment
    /// Ports the agent itself listens on, with what listens there ("the agent's gateway
    /// (--gateway-listen 127.0.0.1:8080)"): an entry's `endpoint.port` or `containerPort` on one of
    /// them moves to a free port (LLMKube's `endpoint.port` defaults to 8080, the gateway's port), and
    /// a fixed `spec.port` on one is an entry error.
    public var reservedPorts: [Int: String] = [:]

    /// Creates a node description; `defaultRuntime` aliases are canonicalised.
    public init(defaultRuntime: String, binaries: [String: String], host: String = "127.0.0.1", registry: ExecutorRegistry = .standard) {
        self.defaultRuntime = RuntimeName.canonical(defaultRuntime) ?? defaultRuntime
        self.binaries = binaries
        self.host = host
        self.registry = registry
    }
}
