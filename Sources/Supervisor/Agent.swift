import ConfigModel
import Executors
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The node agent: reads the config, reconciles desired state against running services, watches the
/// file, and stops everything on graceful shutdown.
///
/// A `Service` (swift-service-lifecycle): run it in a `ServiceGroup` that turns SIGTERM and SIGINT
/// into graceful shutdown. SIGHUP re-reads the config. Reconciles run one at a time, in order.
public actor Agent: Service {
    private let options: AgentOptions
    private let logger: Logger
    private let store: StatusStore
    private let ledger: ChildLedger
    private let sweeper: OrphanSweeper?
    private let builder: DesiredStateBuilder
    private let prober = HTTPProber()
    private let fetcher: ModelFetcher
    private let admission: MemoryAdmission?
    private var controllers: [String: ServiceController] = [:]
    /// Stops still running in the background, by entry name.
    private var retiring: [String: Task<Void, Never>] = [:]
    private var ports = PortAllocator()
    /// Last port each service had, so a restarted entry keeps its endpoint when it can.
    private var lastPorts: [String: Int] = [:]
    private var generation = 0
    private var appliedBytes: [UInt8]?
    /// The last rejected content (or "file missing"), so the same errors are logged once, not on every re-check.
    private enum Rejected: Equatable { case missing, content([UInt8]) }
    private var rejected: Rejected?

    /// Creates an agent; nothing starts until `run()`.
    public init(options: AgentOptions, logger: Logger) {
        self.options = options
        self.logger = logger
        let enabled = options.binaries.keys.sorted()
        var capabilities = AgentStatus.Capabilities(
            runtimes: enabled, defaultRuntime: RuntimeName.canonical(options.defaultRuntime) ?? options.defaultRuntime,
            binaries: options.binaries,
            formats: Dictionary(uniqueKeysWithValues: enabled.map { name in
                (name, options.registry.executor(for: name).map { $0.formats.map(\.rawValue).sorted() } ?? [])
            }),
            host: options.host)
        capabilities.memoryBudgetBytes = options.memoryCheck == .off ? nil : options.memoryBudget
        capabilities.memoryCommittedBytes = options.memoryCheck == .off ? nil : 0
        capabilities.modelStore = options.modelStore
        let store = StatusStore(
            file: StatusFile(path: options.statusPath), capabilities: capabilities,
            node: NodeInfo.current(agentVersion: options.agentVersion), configPath: options.configPath, logger: logger)
        self.store = store
        let modelStore = ModelStore(directory: options.modelStore)
        self.fetcher = ModelFetcher(
            store: modelStore, policy: options.downloadPolicy, proxies: ProxySettings(environment: options.environment), logger: logger)
        self.admission = options.memoryCheck == .off ? nil : MemoryAdmission(
            budget: options.memoryBudget, mode: options.memoryCheck, logger: logger) { committed in
                await store.memoryCommitted(committed)
            }
        self.ledger = ChildLedger(path: AgentOptions.ledgerPath(forStatus: options.statusPath), logger: logger)
        // With guards, the agent becomes a child subreaper: helpers a dead guard leaves come to it.
        self.sweeper = options.runtimeGuard == nil ? nil : OrphanSweeper(enabled: true)
        var node = NodeRuntimes(
            defaultRuntime: options.defaultRuntime, binaries: options.binaries, host: options.host, registry: options.registry)
        node.modelStore = modelStore
        node.environment = options.environment
        self.builder = DesiredStateBuilder(node: node)
    }

    /// Runs until graceful shutdown, then stops every service and returns.
    /// - Throws: when the config's folder cannot be watched.
    public func run() async throws {
        try FileManager.default.createDirectory(atPath: options.logDirectory, withIntermediateDirectories: true)
        let (triggers, trigger) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let watcher = ConfigWatcher(path: options.configPath) { trigger.yield() }
        try watcher.start()
        let hangups = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                trigger.yield()
            }
        }
        // Re-check on an interval too: an entry that failed because its model file was missing starts
        // once the file appears, and the status file is rewritten (recreated if deleted) at least this often.
        let interval = options.resyncInterval
        let sweeper = self.sweeper
        let resync = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                trigger.yield()
                if let sweeper { _ = await Task.detached { sweeper.sweep() }.value }
            }
        }
        await store.flush()
        // Runtimes a killed predecessor left running would hold their ports (and memory): stop them first.
        await ledger.stopLeftovers(grace: .seconds(10))
        await reload()
        for await _ in triggers.cancelOnGracefulShutdown() {
            // Let a burst of editor writes settle; further events collapse into one pending trigger.
            try? await Task.sleep(for: .milliseconds(50))
            await reload()
        }
        watcher.stop()
        hangups.cancel()
        resync.cancel()
        logger.info("shutting down: stopping all services")
        await stopAll()
    }

    /// Re-reads the config and reconciles. A file that cannot be read, parsed or validated changes nothing that runs.
    /// Only `run()` calls it, one reload at a time, so reconciles never interleave.
    private func reload() async {
        let path = options.configPath
        guard let data = FileManager.default.contents(atPath: path) else {
            let error = ConfigError(file: path, mark: SourceMark(line: 1, column: 1), field: "", message: "cannot read the config file (missing or unreadable)")
            if rejected != .missing { logger.error("\(error); the last good config stays in force") }
            rejected = .missing
            await store.configRejected([error])
            return
        }
        let bytes = [UInt8](data)
        let config: AgentConfig
        do {
            config = try ConfigLoader.load(bytes, file: path)
        } catch {
            if rejected != .content(bytes) {
                for e in error.errors { logger.error("config rejected: \(e)") }
                logger.error("the last good config stays in force", metadata: ["errors": "\(error.errors.count)"])
            }
            rejected = .content(bytes)
            await store.configRejected(error.errors)
            return
        }
        rejected = nil
        let changed = bytes != appliedBytes
        if changed {
            generation += 1
            appliedBytes = bytes
            logger.info("config loaded", metadata: ["generation": "\(generation)", "services": "\(config.services.count)"])
        }
        let desired = builder.build(config)
        let warnings = desired.flatMap(\.warnings)
        if changed {
            for warning in warnings { logger.warning("\(warning)") }
        }
        await reconcile(desired, warnings: warnings, changed: changed)
    }

    /// Makes the running services match `desired`: stops removed and changed entries, starts new and
    /// changed ones, and leaves unchanged ones running (same process).
    private func reconcile(_ desired: [DesiredService], warnings: [EntryDiagnostic], changed: Bool) async {
        var specs: [String: [String: String]] = [:]
        for entry in desired { if let spec = entry.baseStatus.spec { specs[entry.name] = spec } }
        await store.configApplied(generation: generation, serviceOrder: desired.map(\.name), warnings: warnings.map(\.description), specs: specs)
        let wanted = Dictionary(desired.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

        // Stops run in the background, one task per entry: a runtime that takes its whole grace period to
        // stop must not hold back other entries, nor the next edit. A changed entry's new controller
        // waits for its predecessor's stop before it spawns (the port and the memory must be free).
        var predecessors: [String: (stop: Task<Void, Never>, port: Int)] = [:]
        for (name, controller) in controllers {
            guard let entry = wanted[name], case .run = entry.action, entry.specHash == controller.specHash else {
                let why = wanted[name] == nil ? "removed from config" : "spec changed"
                logger.info("stopping", metadata: ["service": "\(name)", "why": "\(why)"])
                controllers[name] = nil
                let earlier = retiring[name]
                let stop = Task {
                    await earlier?.value
                    await controller.stop()
                }
                retiring[name] = stop
                predecessors[name] = (stop, controller.port)
                Task { [weak self] in
                    await stop.value
                    await self?.retired(name, stop: stop, port: controller.port)
                }
                continue
            }
        }

        // Fixed ports first, so that no agent-assigned port can take one that an entry asks for.
        for entry in desired {
            if case .run(let resolved, _) = entry.action, let fixed = resolved.service.port, controllers[entry.name] == nil {
                ports.reserve(fixed)
            }
        }
        for entry in desired {
            switch entry.action {
            case .stopped, .failed:
                if case .failed(let diagnostic) = entry.action, changed {
                    logger.error("entry error: \(diagnostic)")
                }
                await store.update(entry.baseStatus)
            case .run(var resolved, let executor):
                guard controllers[entry.name] == nil else { continue }
                if let fixed = resolved.service.port {
                    ports.reserve(fixed)
                    resolved.port = fixed
                } else if let previous = predecessors[entry.name]?.port ?? retiringPort(entry.name) {
                    // The same entry restarting keeps its endpoint: the port is free once its predecessor stopped.
                    ports.reserve(previous)
                    resolved.port = previous
                } else if let previous = lastPorts[entry.name], !ports.inUse.contains(previous),
                          PortAllocator.isFree(previous, host: options.host) {
                    ports.reserve(previous)
                    resolved.port = previous
                } else if let port = ports.allocate(host: options.host) {
                    resolved.port = port
                } else {
                    var status = entry.baseStatus
                    status.phase = .Failed
                    status.reason = "NoFreePort"
                    status.message = "no free TCP port on \(options.host)"
                    await store.update(status)
                    continue
                }
                lastPorts[entry.name] = resolved.port
                logger.info("starting", metadata: [
                    "service": "\(entry.name)", "runtime": "\(resolved.runtime.name)",
                    "runtimeSource": "\(resolved.runtime.source.rawValue)", "port": "\(resolved.port)",
                ])
                let logPath = (options.logDirectory as NSString).appendingPathComponent("\(entry.name).log")
                controllers[entry.name] = ServiceController(
                    desired: entry, resolved: resolved, executor: executor, logPath: logPath,
                    after: predecessors[entry.name]?.stop ?? retiring[entry.name],
                    context: .init(store: store, ledger: ledger, prober: prober, backoff: options.backoff, logLimits: options.logLimits,
                                  livenessPeriodSeconds: options.livenessPeriodSeconds,
                                  livenessFailureThreshold: options.livenessFailureThreshold,
                                  runtimeGuard: options.runtimeGuard, sweeper: sweeper,
                                  fetcher: fetcher, admission: admission, logger: logger))
            }
        }
    }

    /// A background stop finished: forget it, and free its port unless a live entry uses it again.
    private func retired(_ name: String, stop: Task<Void, Never>, port: Int) {
        if retiring[name] == stop { retiring[name] = nil }
        if !controllers.values.contains(where: { $0.port == port }) { ports.release(port) }
    }

    /// The port of an entry's controller that is still stopping, if it had an agent-assigned one.
    private func retiringPort(_ name: String) -> Int? {
        retiring[name] != nil ? lastPorts[name] : nil
    }

    /// Stops every service (concurrently) and marks each Stopped.
    private func stopAll() async {
        let all = controllers
        controllers = [:]
        for stop in retiring.values { await stop.value }
        await withTaskGroup(of: Void.self) { group in
            for controller in all.values { group.addTask { await controller.stop() } }
        }
        await store.markAllStopped(reason: "AgentShutdown", message: "metal-agent is shutting down")
    }
}
