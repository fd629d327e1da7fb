import ArgumentParser
import ConfigModel
import Executors
import Logging
import ServiceLifecycle
import Supervisor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `metal-agent run`: the long-running agent (the default subcommand).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent: start every entry of the config, watch the file, keep the status file current.")

    @Option(help: "A models.yaml to serve, or a folder of them (every *.yaml/*.yml, in name order, as kubectl apply -f DIR); repeat for several.")
    var config: [String]

    @OptionGroup var node: NodeOptions

    @Option(help: "Status JSON file (default: next to the config, models.yaml -> models.status.json).")
    var statusFile: String?

    @Option(help: "Folder for per-service logs (default: next to the config, models.yaml -> models.logs/).")
    var logDir: String?

    @Option(help: "First restart delay (kubelet default 10s); written 500ms, 10s, 5m, 1h.")
    var backoffInitial: DurationArgument = DurationArgument(argument: "10s")!

    @Option(help: "Longest restart delay (kubelet default 5m).")
    var backoffMax: DurationArgument = DurationArgument(argument: "5m")!

    @Option(help: "Ready time after which the restart delay starts again from --backoff-initial (kubelet default 10m).")
    var backoffReset: DurationArgument = DurationArgument(argument: "10m")!

    @Option(help: "Rotate a service's log file at this size in bytes (kubelet containerLogMaxSize default: 10 MiB).")
    var logMaxBytes: Int = LogLimits.kubelet.maxBytes

    @Option(help: "Log files kept per service, the current one included (kubelet containerLogMaxFiles default: 5).")
    var logMaxFiles: Int = LogLimits.kubelet.maxFiles

    @Option(help: "Time between liveness probes once Ready (kubelet default 10s).")
    var livenessPeriod: DurationArgument?

    @Option(help: "Consecutive liveness failures that restart a runtime (kubelet default 3).")
    var livenessFailureThreshold: Int?

    @Option(
        help:
            "TCP ports for entries without spec.port, LOW-HIGH (default: Kubernetes' NodePort range, below the kernel's ephemeral ports that outgoing connections take)."
    )
    var portRange: PortRangeArgument = PortRangeArgument(AgentOptions.defaultPortRange)

    @Option(help: "Re-check the config this often even without a file event (retries missing models, rewrites the status file).")
    var resyncInterval: DurationArgument = DurationArgument(argument: "10s")!

    @Option(help: .hidden)
    /// Testing aid: run the orphan sweep this often (default: with every re-check), to widen race windows.
    var orphanSweepInterval: DurationArgument?

    @Option(help: "Shortest time between two writes of the status file; changes in between are written together.")
    var statusWriteInterval: DurationArgument = DurationArgument(argument: "20ms")!

    @OptionGroup var models: ModelOptions

    @Option(
        help:
            "Operator endpoint (GET /healthz, /readyz, /status, /metrics): HOST:PORT, or none. Loopback by default; any other address must be named (0.0.0.0:9090). Port 0 picks a free port (see operatorEndpoint in the status file)."
    )
    var listen: String = ListenAddress.standard.description

    @OptionGroup var gateway: GatewayFlags

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard !config.isEmpty else { throw ValidationError("Missing expected argument '--config <config>'") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a level") }
        guard logMaxBytes > 0 else { throw ValidationError("--log-max-bytes must be a positive number of bytes") }
        guard logMaxFiles >= 1 else { throw ValidationError("--log-max-files must be at least 1") }
        if let t = livenessFailureThreshold, t < 1 { throw ValidationError("--liveness-failure-threshold must be at least 1") }
        let operatorAddress: ListenAddress
        do { operatorAddress = try ListenAddress(parsing: listen) } catch { throw ValidationError("\(error)") }
        if let gateway = gateway.options(), operatorAddress.collides(withHost: gateway.host, port: gateway.port) {
            throw ValidationError(
                "--gateway-listen \(self.gateway.gatewayListen) and --listen \(listen) take the same port: give one of them another port, or none")
        }
        if let problem = portRange.problem { throw ValidationError(problem) }
        try models.check()
    }

    func run() async throws {
        // Nothing the agent writes may end it: a closed stderr pipe (SIGPIPE) or a file-size limit (SIGXFSZ).
        AgentOutput.ignoreFatalOutputSignals()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = AgentLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "metal-agent")
        let files = OpenFileLimit.raiseToHardLimit()
        if files.after != files.before {
            logger.debug("raised the open-file limit to the hard limit", metadata: ["before": "\(files.before)", "after": "\(files.after)"])
        }
        let configPaths = config.map { trimmedFolder(absolutePath($0)) }
        let configPath = configPaths[0]
        let statusPath = absolutePath(statusFile ?? AgentOptions.defaultStatusPath(forConfig: configPath))
        // One agent per status file, checked before anything else runs (the runtimes' `--version`, about 1 s):
        // a second agent says only why it refuses.
        let lock: AgentLock
        do {
            lock = try AgentLock(path: statusPath + ".lock")
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        defer { withExtendedLifetime(lock) {} }
        let nodeRuntimes = try node.resolve()
        if nodeRuntimes.binaries[nodeRuntimes.defaultRuntime] == nil {
            logger.warning(
                "the default runtime is not enabled on this node; entries without spec.runtime will fail",
                metadata: ["runtime": "\(nodeRuntimes.defaultRuntime)"])
        }
        logger.info("runtimes enabled", metadata: ["runtimes": "\(nodeRuntimes.binaries.keys.sorted())", "default": "\(nodeRuntimes.defaultRuntime)"])
        var options = AgentOptions(
            configPath: configPath,
            statusPath: statusPath,
            logDirectory: absolutePath(logDir ?? AgentOptions.defaultLogDirectory(forConfig: configPath)),
            host: nodeRuntimes.host, defaultRuntime: nodeRuntimes.defaultRuntime, binaries: nodeRuntimes.binaries,
            backoff: BackoffPolicy(initial: backoffInitial.duration, max: backoffMax.duration, resetAfter: backoffReset.duration),
            logLimits: LogLimits(maxBytes: logMaxBytes, maxFiles: logMaxFiles),
            livenessPeriod: livenessPeriod?.duration,
            livenessFailureThreshold: livenessFailureThreshold,
            agentVersion: MetalAgent.version)
        options.resyncInterval = resyncInterval.duration
        options.portRange = portRange.range ?? AgentOptions.defaultPortRange
        options.orphanSweepInterval = orphanSweepInterval?.duration
        options.statusWriteInterval = statusWriteInterval.duration
        options.configPaths = configPaths
        models.apply(to: &options)
        let listenAddress = (try? ListenAddress(parsing: listen)) ?? .none
        if listenAddress != .none {
            options.operatorState = OperatorState(version: MetalAgent.version, commit: MetalAgent.commit)
        }
        // Entries must not take the agent's own ports (LLMKube's endpoint.port defaults to 8080, the gateway's).
        if case .address(_, let port) = listenAddress, port != 0 {
            options.reservedPorts[port] = "the agent's operator endpoint (--listen \(listenAddress))"
        }
        if let gatewayOptions = gateway.options(), gatewayOptions.port != 0 {
            options.reservedPorts[gatewayOptions.port] = "the agent's gateway (--gateway-listen \(gateway.gatewayListen))"
        }
        // Each runtime runs under the runtime guard, a small C program installed beside this binary.
        guard let guardPath = RuntimeGuardBinary.path() else {
            logger.critical("\(RuntimeGuardBinary.missingMessage)")
            throw ExitCode(1)
        }
        options.runtimeGuard = [guardPath, "guard"]
        let agent = Agent(options: options, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if !listenAddress.isLoopback {
            logger.warning(
                "the operator endpoint listens beyond this machine: anyone who reaches it reads the status and metrics",
                metadata: ["listen": "\(listenAddress)"])
        }
        if let state = options.operatorState {
            // First in the list, so it is stopped last: /healthz says 503 while the runtimes stop.
            // Its end (a port it cannot bind) never ends the agent.
            let server = OperatorServer(
                address: listenAddress, state: state, logger: logger,
                onBound: { endpoint in await agent.operatorListening(endpoint) },
                onFailure: { warning in await agent.operatorCannotListen(warning) })
            services.append(.init(service: server, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        // Then the gateway: a group shuts its services down in reverse order, so the runtimes stop
        // before the listener does. Its ending, by failure or not, never ends the agent.
        if let gatewayOptions = gateway.options() {
            services.append(.init(service: agent.makeGateway(gatewayOptions), successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        services.append(.init(service: agent))
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
