import ConfigModel

/// The status file (format v1): what this node can run, and the state of every service.
///
/// Written as one JSON document, atomically (temp file + rename), on every change.
public struct AgentStatus: Sendable, Hashable, Codable {
    /// Format version of this document; 1.
    public var formatVersion: Int = 1
    /// ISO 8601 time of this write.
    public var updatedAt: String
    /// What this node can run.
    public var capabilities: Capabilities
    /// Facts about the machine.
    public var node: NodeInfo
    /// The config file's state.
    public var config: ConfigStatus
    /// One element per InferenceService in the last good config, in file order.
    public var services: [ServiceStatus]
    /// Problems of the agent itself that do not stop supervision, one line each (its stderr cannot
    /// be written, say). Always written (`[]` when none); nil only when read from an older file.
    public var warnings: [String]? = []
    /// The operator endpoint (`--listen`) as it listens, `http://127.0.0.1:9090`; absent when it is off
    /// or could not listen.
    public var operatorEndpoint: String? = nil
    /// The gateway (`--gateway-listen`) as it listens, `http://127.0.0.1:8080` (the port the kernel chose
    /// for port 0); absent when it is off or could not listen.
    public var gatewayEndpoint: String? = nil

    /// What this node offers.
    public struct Capabilities: Sendable, Hashable, Codable {
        /// Enabled runtime names, sorted (e.g. `["llama-server", "mlx-server"]`).
        public var runtimes: [String]
        /// The runtime for entries without `spec.runtime`.
        public var defaultRuntime: String
        /// Enabled runtime -> the binary it runs.
        public var binaries: [String: String]
        /// Enabled runtime -> model formats it serves.
        public var formats: [String: [String]]
        /// Address the runtimes bind (`--host`).
        public var host: String
        /// Every `spec.runtime` value this node runs, with the runtime it runs it on (`llamacpp` ->
        /// `llama-server`); absent from status files written before it existed.
        public var specRuntimes: [String: String]?
        /// Known `spec.runtime` values this agent cannot run (entry error `RuntimeNotSupported`).
        public var notSupportedRuntimes: [String]?
        /// Enabled runtime -> its binary's version as read from it (`version: 6325 (0123abcd)`,
        /// `0.32.2`); a runtime whose version could not be read is left out. nil only in older files.
        public var versions: [String: String]? = [:]
        /// Bytes the agent may commit to running entries (`--memory-budget`, or `--memory-fraction` of
        /// physical memory); null when `--memory-check off`.
        public var memoryBudgetBytes: Int64? = nil
        /// Bytes the admitted (started) entries' estimates add up to.
        public var memoryCommittedBytes: Int64? = nil
        /// Folder downloaded models are kept in (`--model-store`).
        public var modelStore: String? = nil
    }

    /// The config file and whether its last edit was applied.
    public struct ConfigStatus: Sendable, Hashable, Codable {
        /// Path of the config file.
        public var path: String
        /// Revision counter: +1 each time a changed, valid config is applied (0: none yet).
        public var generation: Int
        /// False when the file's current content was rejected; the last good config stays in force.
        public var valid: Bool
        /// The first error, rendered `file:line:column: field: message`, or null.
        public var error: String?
        /// Every error of the current content.
        public var errors: [ConfigError]
        /// Warnings about the applied config, rendered `file:line:column: field: message [Reason]`.
        public var warnings: [String]
        /// ISO 8601 time the last good config was applied.
        public var appliedAt: String?
        /// Every config file read (folders expanded), in order.
        public var files: [String]?

        /// True once the agent's first read of the config has an outcome: applied, or rejected with
        /// errors. False while the agent starts, when `valid` is false but nothing was rejected.
        public var hasOutcome: Bool { generation > 0 || appliedAt != nil || error != nil || !errors.isEmpty }

        enum CodingKeys: String, CodingKey { case path, generation, valid, error, errors, warnings, appliedAt, files }

        /// Writes every key, with `null` for absent values.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(generation, forKey: .generation)
            try c.encode(valid, forKey: .valid)
            try c.encode(error, forKey: .error)
            try c.encode(errors, forKey: .errors)
            try c.encode(warnings, forKey: .warnings)
            try c.encode(appliedAt, forKey: .appliedAt)
            try c.encode(files ?? [path], forKey: .files)
        }
    }
}
