import ConfigModel
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Holds the observed state the status file shows, and rewrites the file after changes, coalesced.
///
/// An actor: service controllers, the reconciler and shutdown all report here; writes are serialised.
/// Writes are coalesced (issue 12: with 1,000 entries, a rewrite of the whole document per change made
/// the agent spend a full core writing): a change is written at once when the last write is at least
/// `minimumWriteInterval` old (and at least four times as long as that write took, so a large document
/// never takes more than a fifth of a core), else once that time has passed, with every change made
/// meanwhile. `flushNow()` writes at once (agent start and shutdown).
public actor StatusStore {
    private var status: AgentStatus
    private var order: [String] = []
    private var listed: Set<String> = []
    private var byName: [String: ServiceStatus] = [:]
    /// Services changed since the last write (their JSON is encoded again; the others' is reused).
    private var changed: Set<String> = []
    private let file: StatusFile
    private let logger: Logger
    private var lastWriteError: String?
    private let output: AgentOutput
    /// The agent's listeners that cannot listen now (`gateway`, `operator endpoint`) -> the warning the
    /// file shows for each, after the output's own.
    private var listenerProblems: [String: String] = [:]
    /// A write again after a failed one, so the file catches up without waiting for the next change.
    private var retry: Task<Void, Never>?
    /// Each entry's resolved spec as the current config writes it.
    private var specs: [String: [String: String]] = [:]
    private let minimumWriteInterval: Duration
    private var lastWrite: (at: ContinuousClock.Instant, took: Duration)?
    private var writeScheduled = false
    /// Keeps each service's JSON between writes; only changed services are encoded again.
    private var encoder = StatusEncoder()
    private var dirty = false
    /// Shown on the operator endpoint (`--listen`): each document written is published to it.
    private let operatorState: OperatorState?

    /// Creates the store; the file is first written by `flush()`.
    /// - Parameters:
    ///   - minimumWriteInterval: the shortest time between two writes of the file.
    ///   - output: whose `warnings` the file shows (the agent's own output problems).
    public init(
        file: StatusFile, capabilities: AgentStatus.Capabilities, node: NodeInfo, configPath: String,
        minimumWriteInterval: Duration = .milliseconds(20), logger: Logger, output: AgentOutput = .shared,
        operatorState: OperatorState? = nil
    ) {
        self.operatorState = operatorState
        self.file = file
        self.output = output
        self.logger = logger
        self.minimumWriteInterval = minimumWriteInterval
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

    /// Replaces (or removes, with nil) one service's status, and marks it for the next write.
    private func set(_ name: String, _ service: ServiceStatus?) {
        byName[name] = service
        changed.insert(name)
    }

    /// Records the enabled runtimes' versions (runtime -> version text) in the capabilities.
    func setVersions(_ versions: [String: String]) {
        guard status.capabilities.versions != versions else { return }
        status.capabilities.versions = versions
        flush()
    }

    /// Records a valid config: its generation and the order of its services. Not written until the next
    /// `flush()` (the reconcile that follows calls it once its stops and starts are under way).
    /// `initial` gives the status of each entry the store has none of yet (`Pending` for one about to
    /// start): a document of the new generation lists every entry of it, so that a reader (`wait`,
    /// `/readyz`) never takes "no entries yet" for "every entry Ready".
    func configApplied(
        generation: Int, serviceOrder: [String], warnings: [String], specs: [String: [String: String]],
        errors: [ConfigError] = [], files: [String]? = nil, initial: [ServiceStatus] = []
    ) {
        // The entry as now written is what the status shows, even when its process did not need a restart.
        self.specs = specs
        for (name, spec) in specs where byName[name] != nil && byName[name]?.spec != spec {
            byName[name]?.spec = spec
            changed.insert(name)
        }
        if generation != status.config.generation || !status.config.valid { status.config.appliedAt = Timestamp.string() }
        status.config.generation = generation
        status.config.warnings = warnings
        status.config.valid = errors.isEmpty
        status.config.error = errors.first?.description
        status.config.errors = errors
        if let files { status.config.files = files }
        order = serviceOrder
        listed = Set(serviceOrder)
        for name in byName.keys where !listed.contains(name) { set(name, nil) }
        for entry in initial where listed.contains(entry.name) && byName[entry.name] == nil {
            var entry = entry
            if let spec = specs[entry.name] { entry.spec = spec }
            set(entry.name, entry)
        }
        dirty = true  // written by the reconcile's own flush, with its stops and starts
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
        guard listed.contains(service.name) else { return }
        var service = service
        if let spec = specs[service.name] { service.spec = spec }
        // The gateway's figures (`setTraffic`) are not the supervision loop's to overwrite.
        if let known = byName[service.name] {
            service.requestsInFlight = known.requestsInFlight
            service.idleDeadline = service.pid == nil ? nil : known.idleDeadline
        }
        if byName[service.name] == service { return }
        set(service.name, service)
        flush()
    }

    /// Writes the file soon: at once if the last write is old enough, else once it is, coalescing
    /// every change made meanwhile.
    func flush() {
        dirty = true
        guard !writeScheduled else { return }
        let wait = nextWriteAllowed.map { $0 - .now } ?? .zero
        if wait <= .zero {
            flushNow()
            return
        }
        writeScheduled = true
        Task {
            try? await Task.sleep(for: wait)
            self.scheduledWrite()
        }
    }

    private var nextWriteAllowed: ContinuousClock.Instant? {
        guard let lastWrite else { return nil }
        return lastWrite.at + max(minimumWriteInterval, lastWrite.took * 4)
    }

    private func scheduledWrite() {
        writeScheduled = false
        if dirty { flushNow() }
    }

    /// Writes the file now.
    func flushNow() {
        dirty = false
        status.updatedAt = Timestamp.string()
        let started = ContinuousClock.now
        defer { lastWrite = (started, .now - started) }
        status.warnings = output.warnings + listenerProblems.keys.sorted().compactMap { listenerProblems[$0] }
        do {
            let bytes = try encoder.encode(shell: status, order: order, services: byName, changed: changed)
            changed = []
            operatorState?.publish(OperatorState.Document(shell: status, order: order, services: byName, json: bytes))
            try file.write(encoded: bytes)
            if lastWriteError != nil { logger.notice("status file written again", metadata: ["path": "\(file.path)"]) }
            lastWriteError = nil
        } catch {
            let text = "\(error)"
            if text != lastWriteError {
                logger.error("cannot write status file; retrying every second", metadata: ["path": "\(file.path)", "error": "\(text)"])
                lastWriteError = text
            }
            if retry == nil {
                retry = Task { [weak self] in
                    try? await Task.sleep(for: .seconds(1))
                    await self?.retryFlush()
                }
            }
        }
    }

    private func retryFlush() {
        retry = nil
        if lastWriteError != nil { flush() }
    }
}

extension StatusStore {
    /// Marks every service Stopped (agent shutdown) and writes the file.
    func markAllStopped(reason: Reason, message: String) {
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
            set(name, s)
        }
        flushNow()
    }
}

extension StatusStore {
    /// Records where the gateway listens (`gatewayEndpoint`); nil once it stopped or could not listen.
    /// A listening gateway has no listener warning.
    func gatewayListening(_ endpoint: String?) {
        if endpoint != nil { listenerFailed(Self.gatewayListener, nil) }
        guard status.gatewayEndpoint != endpoint else { return }
        status.gatewayEndpoint = endpoint
        flush()
    }

    /// Records where the operator endpoint listens (`operatorEndpoint`); a listening endpoint has no
    /// listener warning.
    func operatorListening(_ endpoint: String?) {
        if endpoint != nil { listenerFailed(Self.operatorListener, nil) }
        guard status.operatorEndpoint != endpoint else { return }
        status.operatorEndpoint = endpoint
        flush()
    }

    /// The listener names `listenerFailed` takes.
    static let gatewayListener = "gateway"
    static let operatorListener = "operator endpoint"

    /// Shows `warning` in the file's `warnings` while `listener` cannot listen (nil: it listens, or is
    /// tried again with no news).
    func listenerFailed(_ listener: String, _ warning: String?) {
        guard listenerProblems[listener] != warning else { return }
        listenerProblems[listener] = warning
        flush()
    }
}

extension StatusStore {
    /// One entry's status, if the current config lists it.
    func service(_ name: String) -> ServiceStatus? { byName[name] }

    /// Records the gateway's view of one entry: requests in flight, and when it stops if none comes.
    func setTraffic(_ name: String, inFlight: Int, idleDeadline: String?) {
        guard var s = byName[name] else { return }
        s.requestsInFlight = inFlight
        s.idleDeadline = s.pid == nil ? nil : idleDeadline
        guard s != byName[name] else { return }
        set(name, s)
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
        set(name, s)
        flush()
    }
}
