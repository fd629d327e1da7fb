import ArgumentParser
import ConfigModel
import Executors
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import Supervisor

/// `metal-agent run`: the long-running agent (the default subcommand).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent: start every entry of the config, watch the file, keep the status file current.")

    @Option(help: "The models.yaml to serve.")
    var config: String

    @Option(help: "Runtime for entries without spec.runtime (llama-server, mlx-server; alias llamacpp).")
    var runtime: String = RuntimeName.llamaServer

    @Option(help: "Comma-separated runtimes this node enables (default: every runtime whose binary is found).")
    var runtimes: String?

    @Option(help: "Path of llama-server (default: `llama-server` on PATH).")
    var llamaServerBin: String?

    @Option(help: "Path of the MLX server (default: `mlx-server`, then `mlx_lm.server`, on PATH).")
    var mlxServerBin: String?

    @Option(help: "Status JSON file (default: next to the config, models.yaml -> models.status.json).")
    var statusFile: String?

    @Option(help: "Address the runtimes bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Folder for per-service logs (default: next to the config, models.yaml -> models.logs/).")
    var logDir: String?

    @Option(help: "First restart delay (kubelet default 10s); written 500ms, 10s, 5m, 1h.")
    var backoffInitial: DurationArgument = DurationArgument(argument: "10s")!

    @Option(help: "Longest restart delay (kubelet default 5m).")
    var backoffMax: DurationArgument = DurationArgument(argument: "5m")!

    @Option(help: "Ready time after which the restart delay starts again from --backoff-initial (kubelet default 10m).")
    var backoffReset: DurationArgument = DurationArgument(argument: "10m")!

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard RuntimeName.canonical(runtime) != nil else {
            throw ValidationError("--runtime \(runtime) is not a known runtime (known: \(RuntimeName.known.joined(separator: ", ")))")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a level") }
        var v4 = in_addr(), v6 = in6_addr()
        guard inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 else {
            throw ValidationError("--host \(host) is not an IP address (use 127.0.0.1, 0.0.0.0, ::1, ...)")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "metal-agent")
        let configPath = absolute(config)
        let binaries = try RuntimeBinaries.discover(
            registry: .standard,
            flags: [RuntimeName.llamaServer: llamaServerBin, RuntimeName.mlxServer: mlxServerBin],
            enabled: runtimes.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
        let defaultRuntime = RuntimeName.canonical(runtime) ?? runtime
        if binaries[defaultRuntime] == nil {
            logger.warning("the default runtime is not enabled on this node; entries without spec.runtime will fail",
                           metadata: ["runtime": "\(defaultRuntime)"])
        }
        logger.info("runtimes enabled", metadata: ["runtimes": "\(binaries.keys.sorted())", "default": "\(defaultRuntime)"])
        let options = AgentOptions(
            configPath: configPath,
            statusPath: absolute(statusFile ?? AgentOptions.defaultStatusPath(forConfig: configPath)),
            logDirectory: absolute(logDir ?? AgentOptions.defaultLogDirectory(forConfig: configPath)),
            host: host, defaultRuntime: defaultRuntime, binaries: binaries,
            backoff: BackoffPolicy(initial: backoffInitial.duration, max: backoffMax.duration, resetAfter: backoffReset.duration),
            agentVersion: MetalAgent.version)
        let agent = Agent(options: options, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: agent)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
