import ConfigModel

/// Everything the Supervisor needs to run one service: what to exec, with which environment, and how
/// to tell that it is ready and alive. Built by a `RuntimeExecutor`; pure data.
public struct LaunchDescription: Sendable, Hashable, Codable {
    /// Absolute path (or PATH-relative name) of the runtime binary.
    public var executable: String
    /// Arguments after the executable, in order; `spec.extraArgs` come last.
    public var arguments: [String]
    /// Variables set on top of the agent's own environment (the executor's, then `spec.env`).
    public var environment: [String: String]
    /// Address the process binds, e.g. `127.0.0.1`.
    public var host: String
    /// TCP port the process listens on.
    public var port: Int
    /// Checked during start-up until it passes; then the service is Ready.
    public var readiness: HTTPProbe
    /// Checked on an interval once Ready; failing it restarts the process.
    public var liveness: HTTPProbe
    /// Seconds a start may take before the process is stopped and backed off (models load slowly).
    public var startupTimeout: Duration
    /// Seconds between SIGTERM and SIGKILL when stopping (`spec.terminationGracePeriodSeconds`).
    public var terminationGracePeriod: Duration
    /// When to restart after the process ends (`spec.restartPolicy`).
    public var restartPolicy: RestartPolicy
    /// The path every route of the runtime is served under (llama-server's `--api-prefix`, `/llm`), or
    /// `""`. The probes' paths include it already.
    public var pathPrefix: String = ""

    /// Creates a launch description (executors build these).
    public init(
        executable: String, arguments: [String], environment: [String: String], host: String, port: Int,
        readiness: HTTPProbe, liveness: HTTPProbe, startupTimeout: Duration, terminationGracePeriod: Duration,
        restartPolicy: RestartPolicy = .Always
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.host = host
        self.port = port
        self.readiness = readiness
        self.liveness = liveness
        self.startupTimeout = startupTimeout
        self.terminationGracePeriod = terminationGracePeriod
        self.restartPolicy = restartPolicy
    }

    /// `http://host:port`, with IPv6 addresses bracketed.
    public var endpoint: String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }

    /// Where clients reach the runtime's API: `endpoint` followed by `pathPrefix`
    /// (`http://127.0.0.1:8081/llm`); the status file's `endpoint`, which the gateway forwards to.
    public var serviceURL: String { endpoint + pathPrefix }
}
