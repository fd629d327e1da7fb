import Executors

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How an agent is set up: what it reads, where it writes, and what this node can run.
public struct AgentOptions: Sendable {
    /// The (first) config file or folder (`models.yaml`).
    public var configPath: String
    /// Every config file or folder (`--config`, repeatable), in order; `[configPath]` unless set.
    public var configPaths: [String]
    /// The status JSON file.
    public var statusPath: String
    /// Folder for per-service log files (`<name>.log`).
    public var logDirectory: String
    /// Address the runtimes bind (an IP address).
    public var host: String
    /// TCP ports for entries without `spec.port` (`--port-range`); default 30000–32767, Kubernetes'
    /// NodePort range, which lies below the kernel's ephemeral range (see `PortAllocator`).
    public var portRange: ClosedRange<Int> = AgentOptions.defaultPortRange
    /// Kubernetes' default `--service-node-port-range` (30000–32767): below the Linux (32768–60999) and
    /// macOS (49152–65535) ephemeral ranges.
    public static let defaultPortRange: ClosedRange<Int> = 30000...32767
    /// Runtime for entries without `spec.runtime`.
    public var defaultRuntime: String
    /// Enabled runtime -> binary path. Runtimes not in here are not enabled on this node.
    public var binaries: [String: String]
    /// Restart backoff.
    public var backoff: BackoffPolicy
    /// Rotation limits of each service's log.
    public var logLimits: LogLimits
    /// Liveness probing once Ready: seconds between probes, and consecutive failures that restart the
    /// process. nil keeps each runtime's default (kubelet: every 10 s, 3 failures).
    public var livenessPeriod: Duration?
    public var livenessFailureThreshold: Int?
    /// How often the config is re-checked without a file event (retries missing models, rewrites the status).
    public var resyncInterval: Duration = .seconds(10)
    /// How often the orphan sweep runs besides after each guard's exit; nil: with every re-check.
    /// Tests set it very short to run sweeps concurrently with spawns.
    public var orphanSweepInterval: Duration?
    /// The shortest time between two writes of the status file (changes in between are coalesced).
    public var statusWriteInterval: Duration = .milliseconds(20)
    /// Folder downloaded models are kept in (`--model-store`).
    public var modelStore: String = ModelStore.defaultDirectory(environment: ProcessInfo.processInfo.environment)
    /// Retries, backoff and stall timeout of model downloads.
    public var downloadPolicy: DownloadPolicy = .standard
    /// Bytes entries may commit together (`--memory-budget`, or `--memory-fraction` of physical memory).
    public var memoryBudget: Int64 = Int64(Double(ProcessInfo.processInfo.physicalMemory) * MemoryBudget.defaultFraction)
    /// What happens to an entry over the memory budget (`--memory-check`).
    public var memoryCheck: MemoryCheckMode = .enforce
    /// The environment sources are resolved with (`HOME` for `~/`, `HF_ENDPOINT`, `HF_TOKEN`) and downloads
    /// read their proxy from (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`).
    public var environment: [String: String] = ProcessInfo.processInfo.environment
    /// How to start the runtime guard that runs each runtime (executable, then arguments before
    /// `--grace-seconds`), e.g. `["/usr/local/bin/metal-agent-guard", "guard"]`; nil starts runtimes
    /// directly, and then a runtime outlives an agent that is SIGKILLed until the next agent start stops it.
    public var runtimeGuard: [String]?
    /// Ports the agent's own listeners take (`NodeRuntimes.reservedPorts`).
    public var reservedPorts: [Int: String] = [:]
    /// Runtime executors.
    public var registry: ExecutorRegistry
    /// What the operator endpoint (`--listen`) shows; nil without one.
    public var operatorState: OperatorState?
    /// Reported in the status file's `node.agentVersion`.
    public var agentVersion: String

    /// Creates options; defaults: host 127.0.0.1, default runtime llama-server, kubelet backoff and log
    /// rotation, the standard registry.
    public init(
        configPath: String, statusPath: String, logDirectory: String, host: String = "127.0.0.1",
        defaultRuntime: String = "llama-server", binaries: [String: String], backoff: BackoffPolicy = .kubelet,
        logLimits: LogLimits = .kubelet, livenessPeriod: Duration? = nil, livenessFailureThreshold: Int? = nil,
        registry: ExecutorRegistry = .standard, agentVersion: String
    ) {
        self.configPath = configPath
        self.configPaths = [configPath]
        self.statusPath = statusPath
        self.logDirectory = logDirectory
        self.host = host
        self.defaultRuntime = defaultRuntime
        self.binaries = binaries
        self.backoff = backoff
        self.logLimits = logLimits
        self.livenessPeriod = livenessPeriod
        self.livenessFailureThreshold = livenessFailureThreshold
        self.registry = registry
        self.agentVersion = agentVersion
    }

    /// The status file path the agent uses when none is given: next to the config,
    /// `models.yaml` -> `models.status.json`.
    public static func defaultStatusPath(forConfig config: String) -> String {
        stem(config) + ".status.json"
    }

    /// The log folder used when none is given: next to the config, `models.yaml` -> `models.logs/`.
    public static func defaultLogDirectory(forConfig config: String) -> String {
        stem(config) + ".logs"
    }

    /// The child ledger kept beside the status file: `models.status.json` -> `models.children.json`.
    public static func ledgerPath(forStatus status: String) -> String {
        status.hasSuffix(".status.json") ? String(status.dropLast(".status.json".count)) + ".children.json" : status + ".children.json"
    }

    private static func stem(_ path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let nameStart = slash.map { path.index(after: $0) } ?? path.startIndex
        if let dot = path[nameStart...].lastIndex(of: "."), dot > nameStart {
            return String(path[..<dot])
        }
        return path
    }
}
