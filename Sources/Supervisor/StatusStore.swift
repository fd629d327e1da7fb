import ConfigModel
import Foundation
import Logging

/// Holds the observed state the status file shows, and rewrites the file on every change.
///
/// An actor: service controllers, the reconciler and shutdown all report here; writes are serialised.
public actor StatusStore {
    private var status: AgentStatus
    private var order: [String] = []
    private var byName: [String: ServiceStatus] = [:]
    private let file: StatusFile
    private let logger: Logger
    private var lastWriteError: String?
    /// Each entry's resolved spec as the current config writes it.
    private var specs: [String: [String: String]] = [:]

    /// Creates the store; the file is first written by `flush()`.
    public init(file: StatusFile, capabilities: AgentStatus.Capabilities, node: NodeInfo, configPath: String, logger: Logger) {
        self.file = file
        self.logger = logger
        self.status = AgentStatus(
            updatedAt: Timestamp.string(), capabilities: capabilities, node: node,
            config: AgentStatus.ConfigStatus(path: configPath, generation: 0, valid: false, error: nil, errors: [], warnings: [], appliedAt: nil),
            services: [])
    }

    /// The current document.
    public var snapshot: AgentStatus {
        var s = status
        s.services = order.compactMap { byName[$0] }
        return s
    }

    /// Records a valid config: its generation and the order of its services.
    func configApplied(generation: Int, serviceOrder: [String], warnings: [String], specs: [String: [String: String]]) {
        // The entry as now written is what the status shows, even when its process did not need a restart.
        self.specs = specs
        for (name, spec) in specs { byName[name]?.spec = spec }
        if generation != status.config.generation || !status.config.valid { status.config.appliedAt = Timestamp.string() }
        status.config.generation = generation
        status.config.warnings = warnings
        status.config.valid = true
        status.config.error = nil
        status.config.errors = []
        order = serviceOrder
        for name in byName.keys where !serviceOrder.contains(name) { byName[name] = nil }
        flush()
    }

    /// Records that the file's current content was rejected; services are left as they are.
    func configRejected(_ errors: [ConfigError]) {
        status.config.valid = false
        status.config.errors = errors
        status.config.error = errors.first?.description
        flush()
    }

    /// Replaces one service's status.
    func update(_ service: ServiceStatus) {
        guard order.contains(service.name) else { return }
        var service = service
        if let spec = specs[service.name] { service.spec = spec }
        if byName[service.name] == service { return }
        byName[service.name] = service
        flush()
    }

    /// Writes the file now.
    func flush() {
        status.updatedAt = Timestamp.string()
        do {
            try file.write(snapshot)
            lastWriteError = nil
        } catch {
            let text = "\(error)"
            if text != lastWriteError {
                logger.error("cannot write status file", metadata: ["path": "\(file.path)", "error": "\(text)"])
                lastWriteError = text
            }
        }
    }
}

extension StatusStore {
    /// Marks every service Stopped (agent shutdown) and writes the file.
    func markAllStopped(reason: String, message: String) {
        for name in order {
            guard var s = byName[name] else { continue }
            if s.phase == .Failed || s.phase == .Stopped { continue }  // keep why it ended (Completed, ScaledToZero)
            s.phase = .Stopped
            s.ready = false
            s.pid = nil
            s.processGroup = nil
            s.nextRestartAt = nil
            s.reason = reason
            s.message = message
            byName[name] = s
        }
        flush()
    }
}

extension StatusStore {
    /// Records the bytes admitted entries hold (`capabilities.memoryCommittedBytes`).
    func memoryCommitted(_ bytes: Int64) {
        guard status.capabilities.memoryCommittedBytes != bytes else { return }
        status.capabilities.memoryCommittedBytes = bytes
        flush()
    }
}

extension StatusStore {
    /// Marks a service `Terminating` while its process group is being stopped (before a restart).
    func markTerminating(_ name: String) {
        guard var s = byName[name], s.phase != .Failed, s.phase != .Stopped else { return }
        s.phase = .Terminating
        s.ready = false
        s.nextRestartAt = nil
        byName[name] = s
        flush()
    }
}
