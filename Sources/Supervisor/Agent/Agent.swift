import ConfigModel
import Executors
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    private var builder: DesiredStateBuilder
    private let versionReader: RuntimeVersionReader
    private let prober = HTTPProber()
    private let fetcher: ModelFetcher
    private let admission: MemoryAdmission?
    private var controllers: [String: ServiceController] = [:]
    /// Stops still running in the background, by entry name.
    private var retiring: [String: Task<Void, Never>] = [:]
    private var ports: PortAllocator
    /// Last port each service had, so a restarted entry keeps its endpoint when it can.
    private var lastPorts: [String: Int] = [:]
    private var generation = 0
    private var appliedBytes: [UInt8]?
    /// Every file's last good content.
    private var assembler = ConfigAssembler()
    /// Asks `run()` for another reload (set while it runs).
    private var recheck: (@Sendable () -> Void)?
    /// The last errors logged, so the same errors are logged once, not on every re-check.
    private var loggedErrors: [ConfigError] = []
    /// What the last full reload decided from (`ReloadInputs`); nil until one ran.
    private var lastInputs: ReloadInputs?
    /// Set when something outside the config and the files it names asks for a reconcile (an on-demand
    /// start, an entry that found no free port): the next reload is a full one.
    private var forceFullReload = false
    /// Each `spec.port` of the config in force, and the entry that names it: never handed out again as
    /// an agent-assigned port, not even to the entry that had it before.
    private var fixedPortOwners: [Int: String] = [:]
    /// The gateway's routes, replaced at every reconcile.
    private let directory = GatewayDirectory()
    /// On-demand entries the gateway asked to run (until they are stopped again).
    private var onDemandActive: Set<String> = []
    /// The status each on-demand entry showed when it was last stopped (why, and since when).
    private var onDemandStopped: [String: ServiceStatus] = [:]
    /// The last reconcile's entries, by name.
    private var lastDesired: [String: DesiredService] = [:]
    /// Where the last reconcile's time went (milliseconds per step), for `reload timings`.
    private var reconcileSteps: [String: String] = [:]

    /// Creates an agent; nothing starts until `run()`.
    public init(options: AgentOptions, logger: Logger) {
        self.options = options
        ports = PortAllocator(range: options.portRange, excluded: Set(options.reservedPorts.keys))
        self.logger = logger
        let enabled = options.binaries.keys.sorted()
        var capabilities = AgentStatus.Capabilities(
            runtimes: enabled, defaultRuntime: RuntimeName.canonical(options.defaultRuntime) ?? options.defaultRuntime,
            binaries: options.binaries,
            formats: Dictionary(
                uniqueKeysWithValues: enabled.map { name in
                    (name, options.registry.executor(for: name).map { $0.formats.map(\.rawValue).sorted() } ?? [])
                }),
            host: options.host,
            specRuntimes: Dictionary(
                uniqueKeysWithValues: RuntimeName.accepted.compactMap { value in
                    RuntimeName.canonical(value).flatMap { enabled.contains($0) ? (value, $0) : nil }
                }),
            notSupportedRuntimes: RuntimeName.notSupported)
        capabilities.memoryBudgetBytes = options.memoryCheck == .off ? nil : options.memoryBudget
        capabilities.memoryCommittedBytes = options.memoryCheck == .off ? nil : 0
        capabilities.modelStore = options.modelStore
        let store = StatusStore(
            file: StatusFile(path: options.statusPath), capabilities: capabilities,
            node: NodeInfo.current(agentVersion: options.agentVersion), configPath: options.configPath,
            minimumWriteInterval: options.statusWriteInterval, logger: logger, operatorState: options.operatorState)
        self.store = store
        let modelStore = ModelStore(directory: options.modelStore)
        self.fetcher = ModelFetcher(
            store: modelStore, policy: options.downloadPolicy, proxies: ProxySettings(environment: options.environment), logger: logger)
        self.admission =
            options.memoryCheck == .off
            ? nil
            : MemoryAdmission(
                budget: options.memoryBudget, mode: options.memoryCheck, logger: logger
            ) { committed in
                await store.memoryCommitted(committed)
            }
        self.ledger = ChildLedger(path: AgentOptions.ledgerPath(forStatus: options.statusPath), logger: logger)
        // With guards, the agent becomes a child subreaper: helpers a dead guard leaves come to it.
        // The orphan sweep needs a child subreaper (Linux); elsewhere the guards' lifelines are the only line.
        self.sweeper = options.runtimeGuard != nil && Platform.tracksDetachedHelpers ? OrphanSweeper(enabled: true) : nil
        self.versionReader = RuntimeVersionReader(sweeper: sweeper)
        var node = NodeRuntimes(
            defaultRuntime: options.defaultRuntime, binaries: options.binaries, host: options.host, registry: options.registry)
        node.modelStore = modelStore
        node.environment = options.environment
        node.reservedPorts = options.reservedPorts
        self.builder = DesiredStateBuilder(node: node)
    }

    /// Runs until graceful shutdown, then stops every service and returns.
    /// - Throws: when the config's folder cannot be watched.
    public func run() async throws {
        do {
            try FileManager.default.createDirectory(atPath: options.logDirectory, withIntermediateDirectories: true)
        } catch {
            // Runtimes start anyway (their output is dropped); each start tries the folder again.
            logger.warning("cannot create the log folder", metadata: ["path": "\(options.logDirectory)", "error": "\(error)"])
        }
        if let ephemeral = PortAllocator.ephemeralRange(), ephemeral.overlaps(options.portRange) {
            // Outgoing connections take source ports from that range: a runtime may find its port taken.
            logger.warning(
                "the port range for agent-assigned ports overlaps the kernel's ephemeral port range (net.ipv4.ip_local_port_range)",
                metadata: [
                    "portRange": "\(options.portRange.lowerBound)-\(options.portRange.upperBound)",
                    "ephemeral": "\(ephemeral.lowerBound)-\(ephemeral.upperBound)",
                ])
        }
        // Why to reload: a file event (complete, or still settling), or a re-check, SIGHUP or an on-demand
        // start (`.settling`: it must not stand in for a file event still pending in the buffer).
        let (triggers, trigger) = AsyncStream<ConfigChange>.makeStream(bufferingPolicy: .bufferingNewest(1))
        recheck = { trigger.yield(.settling) }
        let watchers = options.configPaths.map { path in
            ConfigWatcher(path: path, folder: ConfigSources.isFolder(path)) { trigger.yield($0) }
        }
        for watcher in watchers { try watcher.start() }
        defer { for watcher in watchers { watcher.stop() } }
        // A problem with the agent's own output (a closed stderr) shows in the status file at once.
        let store = self.store
        AgentOutput.shared.onWarning { Task { await store.flush() } }
        await store.flushNow()
        // Runtimes a killed predecessor left running would hold their ports (and memory): stop them first.
        await ledger.stopLeftovers(grace: .seconds(10))

        // One tree: the agent's own loops are child tasks of this group, and graceful shutdown (the end of
        // `triggers`) ends the reconcile loop, after which the others are cancelled. (Each entry's
        // supervision loop is a task its `ServiceController` owns, so that one entry can be stopped
        // alone; `stopAll()` waits for every one of them, so none outlives `run()`.)
        await withDiscardingTaskGroup { group in
            group.addTask { await Self.forwardHangups(to: trigger) }
            group.addTask { [options, sweeper] in
                await Self.resync(every: options.resyncInterval, trigger: trigger, sweeper: options.orphanSweepInterval == nil ? sweeper : nil)
            }
            if let sweeper, let interval = options.orphanSweepInterval {
                group.addTask { await Self.sweep(sweeper, every: interval) }
            }
            group.addTask { [weak self] in await self?.killOnSecondSignal() }
            // The first reload runs with the signal listeners up: a SIGTERM while it reads the runtimes'
            // versions ends it, and a second one kills at once, as later.
            await reload()
            for await change in triggers.cancelOnGracefulShutdown() {
                // Let a burst of editor writes settle; further events collapse into one pending trigger.
                // (20 ms: an editor's save is a few syscalls apart; the whole wait is in every edit's latency.)
                // A write that ended or a rename into place is whole: read at once.
                if change == .settling { try? await Task.sleep(for: .milliseconds(20)) }
                await reload()
            }
            options.operatorState?.shuttingDown()
            logger.info("shutting down: stopping all services")
            await stopAll()  // with the second-signal listener still running
            await ledger.flush()
            logger.info("every runtime stopped; exiting")
            group.cancelAll()
        }
    }

    /// SIGHUP asks for a reload (as it does of most daemons). Ends when cancelled.
    private static func forwardHangups(to trigger: AsyncStream<ConfigChange>.Continuation) async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            trigger.yield(.settling)
        }
    }

    /// Asks for a reload every `interval` even without a file event (an entry that failed because its
    /// model file was missing starts once the file appears; the status file is rewritten, recreated if
    /// deleted, at least this often), and sweeps orphans at the same pace when `sweeper` is given.
    private static func resync(every interval: Duration, trigger: AsyncStream<ConfigChange>.Continuation, sweeper: OrphanSweeper?) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            trigger.yield(.settling)
            // The sweep reads /proc and may block: off the cooperative pool.
            if let sweeper { _ = await Task.detached { sweeper.sweep() }.value }
        }
    }

    /// A sweep loop of its own, only when `--orphan-sweep-interval` asks for one (tests run it in a tight
    /// loop to widen race windows).
    private static func sweep(_ sweeper: OrphanSweeper, every interval: Duration) async {
        while !Task.isCancelled {
            // The sweep reads /proc and may block: off the cooperative pool.
            _ = await Task.detached { sweeper.sweep() }.value
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// The first SIGTERM/SIGINT is graceful (swift-service-lifecycle ends the reconcile loop); a second
    /// one, while runtimes take their grace period, kills them all at once, as docker compose does.
    /// Keeps listening through `stopAll()`: it is cancelled only when `run()` returns.
    private func killOnSecondSignal() async {
        var count = 0
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            count += 1
            if count >= 2 { await killAllAndExit(signal) }
        }
    }

    /// Re-reads every config file and reconciles. A file that cannot be read, parsed or validated keeps
    /// its last good content in force; the other files' edits apply. Only `run()` calls it, one reload
    /// at a time, so reconciles never interleave.
    private func reload() async {
        options.operatorState?.metrics.reconciled()
        let clock = ContinuousClock()
        let began = clock.now
        let outcome = assembler.assemble(options.configPaths)
        let read = clock.now
        if let after = outcome.recheckAfter, let recheck {
            // A file vanished from a folder: look again once its grace is over (it may be back by then).
            Task {
                try? await Task.sleep(for: after + .milliseconds(10))
                recheck()
            }
        }
        if outcome.errors != loggedErrors {
            for e in outcome.errors { logger.error("config rejected: \(e)") }
            if !outcome.errors.isEmpty {
                logger.error("the last good content of the rejected file(s) stays in force", metadata: ["errors": "\(outcome.errors.count)"])
            } else {
                // The recovery is logged too: a log that ends with the rejection reads as if it still held.
                logger.info("config accepted again: every file reads without errors", metadata: ["files": "\(outcome.config?.files.count ?? 0)"])
            }
            loggedErrors = outcome.errors
        }
        guard let config = outcome.config else {
            await store.configRejected(outcome.errors)
            return
        }
        let changed = outcome.contentKey != appliedBytes
        if changed {
            generation += 1
            appliedBytes = outcome.contentKey
            logger.info("config loaded", metadata: ["generation": "\(generation)", "services": "\(config.services.count)", "files": "\(config.files.count)"])
        }
        await readVersions()
        // A SIGTERM that came while the versions were read: start nothing new, the agent is stopping.
        if Task.isShuttingDownGracefully { return }
        if !changed, !forceFullReload, let last = lastInputs, last.contentKey == outcome.contentKey, last.errors == outcome.errors,
            last.versions == builder.node.versions, last.pathsUnchanged
        {
            // Nothing a rebuild reads has changed: it could decide nothing new. The status file is still
            // rewritten (recreated if it was deleted), as at every reload.
            await store.flush()
            return
        }
        forceFullReload = false
        let recorder = PathRecorder()
        let desired = builder.build(config, fileExists: recorder.check)
        lastInputs = ReloadInputs(contentKey: outcome.contentKey, errors: outcome.errors, versions: builder.node.versions, stamps: recorder.stamps)
        let warnings = builder.configWarnings(config) + desired.flatMap(\.warnings)
        if changed {
            for warning in warnings { logger.warning("\(warning)") }
        }
        let built = clock.now
        await reconcile(desired, warnings: warnings, changed: changed, errors: outcome.errors, files: config.files)
        if changed {
            // Where an edit's time went, for `--log-level debug` (milliseconds).
            var metadata: Logger.Metadata = [
                "readMs": "\(Self.ms(read - began))", "buildMs": "\(Self.ms(built - read))", "reconcileMs": "\(Self.ms(clock.now - built))",
            ]
            for (step, ms) in reconcileSteps { metadata[step] = "\(ms)" }
            logger.debug("reload timings", metadata: metadata)
        }
    }

    /// `d` in milliseconds, one decimal.
    private static func ms(_ d: Duration) -> String {
        TextFormat.fixed(Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000, decimals: 1)
    }

    /// Reads each binary's version (once per binary and change on disk): flags are spelled for it, and
    /// the status file's capabilities show it. A graceful shutdown cancels the read, which kills a
    /// `--version` still running (what a shutdown's reload reads is never used).
    private func readVersions() async {
        let reader = versionReader
        let binaries = options.binaries
        let versions = await cancelWhenGracefulShutdown { await reader.versions(of: binaries) }
        if Task.isShuttingDownGracefully { return }
        guard versions != builder.node.versions else { return }
        for (runtime, version) in versions.sorted(by: { $0.key < $1.key }) where builder.node.versions[runtime] != version {
            logger.info("runtime version", metadata: ["runtime": "\(runtime)", "version": "\(version)"])
            if runtime == RuntimeName.llamaServer, let build = version.build, build < LlamaServerExecutor.oldestSupportedBuild {
                logger.warning("llama-server b\(build) is older than the oldest supported build b\(LlamaServerExecutor.oldestSupportedBuild)")
            }
        }
        builder.node.versions = versions
        await store.setVersions(versions.mapValues(\.text))
    }

    /// Makes the running services match `desired`: stops removed and changed entries, starts new and
    /// changed ones, and leaves unchanged ones running (same process).
    private func reconcile(_ desired: [DesiredService], warnings: [EntryDiagnostic], changed: Bool, errors: [ConfigError], files: [String]) async {
        let clock = ContinuousClock()
        var stepStart = clock.now
        func step(_ name: String) {
            let now = clock.now
            reconcileSteps[name] = Self.ms(now - stepStart)
            stepStart = now
        }
        var specs: [String: [String: String]] = [:]
        for entry in desired { if let spec = entry.baseStatus.spec { specs[entry.name] = spec } }
        await store.configApplied(
            generation: generation, serviceOrder: desired.map(\.name), warnings: warnings.map(\.description), specs: specs,
            errors: errors, files: files, initial: desired.map(\.baseStatus))
        let wanted = Dictionary(desired.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        lastDesired = wanted
        directory.set(desired.compactMap(\.route))
        // An entry no longer on demand (or gone) is not "asked for" any more; one on demand that nobody asked for does not run.
        onDemandActive = onDemandActive.filter { wanted[$0]?.onDemand == true }
        onDemandStopped = onDemandStopped.filter { wanted[$0.key]?.onDemand == true && wanted[$0.key]?.specHash == $0.value.specHash }
        let parked = Set(desired.filter { $0.onDemand && !onDemandActive.contains($0.name) }.map(\.name))

        // Stops run in the background, one task per entry: a runtime that takes its whole grace period to
        // stop must not hold back other entries, nor the next edit. A changed entry's new controller
        // waits for its predecessor's stop before it spawns (the port and the memory must be free).
        // A fixed port wins over an agent-assigned one: a running entry whose assigned port another
        // entry now names in spec.port moves to a new port, and that entry waits for it to stop.
        var fixedOwners: [Int: String] = [:]
        for entry in desired {
            if case .run(let resolved, _) = entry.action, let fixed = resolved.service.port { fixedOwners[fixed] = entry.name }
        }
        fixedPortOwners = fixedOwners
        var displaced: [String: String] = [:]  // displaced entry -> the entry whose spec.port it holds
        for (name, controller) in controllers {
            guard let owner = fixedOwners[controller.port], owner != name, case .run(let resolved, _)? = wanted[name]?.action,
                resolved.service.port == nil
            else { continue }
            displaced[name] = owner
        }
        step("appliedMs")
        let diff = ReconcileDiff(
            desired: desired, running: controllers.mapValues(\.specHash), parked: parked, displaced: Set(displaced.keys))
        step("diffMs")
        var predecessors: [String: (stop: Task<Void, Never>, port: Int)] = [:]
        // An entry displaced from its port only moves: it keeps its restart count and last ending.
        var histories: [String: ServiceHistory] = [:]
        /// `task`, after any stop `name` already waits for (an entry may wait for two: its own old
        /// controller's, and that of the entry displaced from its spec.port).
        func after(_ name: String, _ task: Task<Void, Never>) -> Task<Void, Never> {
            guard let earlier = predecessors[name]?.stop else { return task }
            return Task {
                await earlier.value
                await task.value
            }
        }
        for stop in diff.stops {
            guard let controller = controllers[stop.name] else { continue }
            let task = retire(controller, why: stop.why)
            if let owner = displaced[stop.name] {
                // The new controller gets a new port; the port's owner starts once this stop is done.
                // Only a move keeps the history: an edit of the entry's own spec in the same write starts anew.
                if stop.why == .portTaken, let status = await store.service(stop.name) { histories[stop.name] = ServiceHistory(of: status) }
                predecessors[owner] = (after(owner, task), predecessors[owner]?.port ?? controller.port)
                lastPorts[stop.name] = nil
            } else {
                predecessors[stop.name] = (after(stop.name, task), controller.port)
            }
        }

        // Fixed ports first, so that no agent-assigned port can take one that an entry asks for.
        for (fixed, owner) in fixedOwners where controllers[owner] == nil { ports.reserve(fixed) }
        let starting = Set(diff.starts)
        for entry in desired {
            switch entry.action {
            case .stopped, .failed:
                if case .failed(let diagnostic) = entry.action, changed {
                    logger.error("entry error: \(diagnostic)")
                }
                await store.update(entry.baseStatus)
            case .run(let resolved, let executor):
                if parked.contains(entry.name) {
                    // Not started with the agent: the first request through the gateway starts it.
                    if controllers[entry.name] == nil && retiring[entry.name] == nil {
                        var status = onDemandStopped[entry.name] ?? entry.baseStatus
                        if onDemandStopped[entry.name] == nil {
                            status.phase = .Stopped
                            status.reason = .Idle
                            status.message = "on demand: starts on the first request for it through the gateway"
                        }
                        await store.update(status)
                    }
                    continue
                }
                guard starting.contains(entry.name), controllers[entry.name] == nil else { continue }
                await start(
                    entry, resolved: resolved, executor: executor, predecessor: predecessors[entry.name],
                    history: histories[entry.name] ?? ServiceHistory())
            }
        }
        step("startMs")
        // The new generation, with its stops and starts, in one write (configApplied did not write).
        await store.flush()
        step("writeMs")
    }

    /// Stops `controller` in the background and forgets it; returns the stop's task.
    private func retire(_ controller: ServiceController, why: ReconcileDiff.Why) -> Task<Void, Never> {
        let name = controller.name
        logger.info("stopping", metadata: ["service": "\(name)", "why": "\(why.rawValue)"])
        controllers[name] = nil
        let earlier = retiring[name]
        let stop = Task {
            await earlier?.value
            await controller.stop()
        }
        retiring[name] = stop
        Task { [weak self] in
            await stop.value
            await self?.retired(name, stop: stop, port: controller.port)
        }
        return stop
    }

    /// Gives `entry` a port (its own, its predecessor's, its last one, or a free one) and a controller,
    /// which waits for `predecessor`'s stop (or any stop of the same name still running) before it spawns.
    private func start(
        _ entry: DesiredService, resolved: ResolvedService, executor: any RuntimeExecutor,
        predecessor: (stop: Task<Void, Never>, port: Int)?, history: ServiceHistory = ServiceHistory()
    ) async {
        var resolved = resolved
        if let fixed = resolved.service.port {
            ports.reserve(fixed)
            resolved.port = fixed
        } else if let previous = predecessor?.port ?? retiringPort(entry.name), fixedPortOwners[previous] == nil {
            // The same entry restarting keeps its endpoint: the port is free once its predecessor stopped.
            ports.reserve(previous)
            resolved.port = previous
        } else if let previous = lastPorts[entry.name], !ports.inUse.contains(previous), fixedPortOwners[previous] == nil,
            PortAllocator.isFree(previous, host: options.host)
        {
            ports.reserve(previous)
            resolved.port = previous
        } else if let port = ports.allocate(host: options.host) {
            resolved.port = port
        } else {
            var status = entry.baseStatus
            status.phase = .Failed
            status.reason = .NoFreePort
            forceFullReload = true  // ports free up without any file changing: try again at the next re-check
            status.message = "no free TCP port in --port-range \(options.portRange.lowerBound)-\(options.portRange.upperBound) on \(options.host)"
            if await store.service(entry.name)?.reason != .NoFreePort {
                logger.error("\(status.message ?? ""); tried again at each re-check", metadata: ["service": "\(entry.name)"])
            }
            await store.update(status)
            return
        }
        lastPorts[entry.name] = resolved.port
        logger.info(
            "starting",
            metadata: [
                "service": "\(entry.name)", "runtime": "\(resolved.runtime.name)",
                "runtimeSource": "\(resolved.runtime.source.rawValue)", "port": "\(resolved.port)",
            ])
        // `namespace/name` entries log to `<log-dir>/<namespace>/<name>.log`.
        let logPath = PathText.join(options.logDirectory, "\(entry.name).log")
        try? FileManager.default.createDirectory(atPath: PathText.parent(of: logPath), withIntermediateDirectories: true)
        let name = entry.name
        let portBusy: (@Sendable (Int, ServiceHistory) -> Void)? =
            resolved.service.port != nil
            ? nil
            : { @Sendable [weak self] port, history in
                Task { await self?.moveOffBusyPort(name, port, history: history) }
                return
            }
        controllers[entry.name] = ServiceController(
            desired: entry, resolved: resolved, executor: executor, logPath: logPath,
            after: predecessor?.stop ?? retiring[entry.name], history: history,
            context: .init(
                store: store, ledger: ledger, prober: prober, backoff: options.backoff, logLimits: options.logLimits,
                livenessPeriod: options.livenessPeriod,
                livenessFailureThreshold: options.livenessFailureThreshold,
                runtimeGuard: options.runtimeGuard, sweeper: sweeper,
                fetcher: fetcher, admission: admission, metrics: options.operatorState?.metrics, logger: logger,
                portBusy: portBusy))
    }

    /// An entry's agent-assigned port was held by another process when the entry was about to start:
    /// it moves to a free port of `--port-range` (its predecessor is stopped first), as an entry displaced
    /// by a fixed port does. Backing off on a port it does not own could last as long as that process.
    /// The entry keeps its history (`history`, this ending included): a move is not a new entry.
    private func moveOffBusyPort(_ name: String, _ port: Int, history: ServiceHistory) async {
        guard let controller = controllers[name], controller.port == port, let entry = lastDesired[name],
            case .run(let resolved, let executor) = entry.action, resolved.service.port == nil
        else { return }
        guard let fresh = ports.allocate(host: options.host) else {
            logger.warning(
                "agent-assigned port held by another process, and no other port of --port-range is free: backing off",
                metadata: ["service": "\(name)", "port": "\(port)"])
            return
        }
        logger.warning("agent-assigned port held by another process", metadata: ["service": "\(name)", "port": "\(port)", "newPort": "\(fresh)"])
        let stop = retire(controller, why: .assignedPortBusy)
        lastPorts[name] = nil
        await start(entry, resolved: resolved, executor: executor, predecessor: (stop, fresh), history: history)
    }

    /// Records where the operator endpoint listens, for the status file (`operatorEndpoint`).
    public func operatorListening(_ endpoint: String?) async {
        await store.operatorListening(endpoint)
    }

    /// Shows `warning` (one line) in the status file's `warnings` while the operator endpoint cannot listen.
    public func operatorCannotListen(_ warning: String) async {
        await store.listenerFailed(StatusStore.operatorListener, warning)
    }

    /// The gateway's view of this agent's entries (updated at every reconcile).
    public nonisolated var gatewayDirectory: GatewayDirectory { directory }

    /// A gateway serving this agent's entries, to run beside it (in the same `ServiceGroup`).
    public nonisolated func makeGateway(_ options: GatewayOptions) -> Gateway {
        Gateway(options: options, directory: directory, store: store, control: self, logger: logger)
    }

    /// Starts an on-demand entry (`OnDemandControl`): marks it asked for and reconciles soon.
    public func startOnDemand(_ name: String, cause: String) async {
        guard let entry = lastDesired[name], entry.onDemand, case .run = entry.action, !onDemandActive.contains(name) else { return }
        onDemandActive.insert(name)
        onDemandStopped[name] = nil
        logger.info("on-demand start", metadata: ["service": "\(name)", "cause": "\(cause)"])
        forceFullReload = true
        recheck?()
    }

    /// Stops an on-demand entry (`OnDemandControl`) and returns once its process group is gone.
    public func stopOnDemand(_ name: String, reason: Reason, message: String) async {
        guard onDemandActive.remove(name) != nil else { return }
        if let controller = controllers.removeValue(forKey: name) {
            logger.info(reason == .Idle ? "idle stop" : "on-demand stop", metadata: ["service": "\(name)", "reason": "\(reason)", "detail": "\(message)"])
            let earlier = retiring[name]
            let stop = Task {
                await earlier?.value
                await controller.stop()
            }
            retiring[name] = stop
            await stop.value
            retired(name, stop: stop, port: controller.port)
        }
        // A request may have asked for it again meanwhile: then it is starting, not stopped.
        guard !onDemandActive.contains(name), controllers[name] == nil, var status = lastDesired[name]?.baseStatus else { return }
        status.phase = .Stopped
        status.reason = reason
        status.message = message
        onDemandStopped[name] = status
        await store.update(status)
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

    /// A second SIGINT or SIGTERM during shutdown: SIGKILL to every runtime's process group (with a
    /// guard, its whole tree, helpers outside the group included) at once, the status file marks every
    /// entry Stopped, and the agent exits with 128 + the signal's number (130 for SIGINT).
    private func killAllAndExit(_ signal: UnixSignal) async -> Never {
        let number = signal == .sigint ? SIGINT : SIGTERM
        let groups = await ledger.groups
        logger.warning("second \(signal): killing every runtime now", metadata: ["groups": "\(groups.map(\.process.pid).sorted())"])
        for group in groups {
            // By identity: a group whose leader is gone and whose pid a stranger took is left alone.
            if group.guarded { ProcessTree.signal(treeOf: group.process, SIGKILL, includingRoot: true) }
            if group.process.pidIsNotAStranger { _ = killpg(group.process.pid, SIGKILL) }
        }
        await store.markAllStopped(reason: .AgentKilled, message: "killed at once by a second \(signal) during shutdown")
        exit(128 + number)
    }

    /// Stops every service at once (every process group gets its SIGTERM together, those already being
    /// stopped for an edit included), logs how many are left every 5 s until all are gone, and marks
    /// each Stopped.
    private func stopAll() async {
        // Say what the shutdown waits for, and until when at the latest.
        let snapshot = await store.snapshot
        let running = snapshot.services.filter { $0.pid != nil || $0.phase == .Terminating || $0.phase == .Starting }
        let longest = controllers.values.map(\.terminationGracePeriod).max() ?? .zero
        let deadline = Date().addingTimeInterval((longest + (options.runtimeGuard == nil ? .zero : .seconds(10))).inSeconds)
        logger.notice(
            "stopping \(running.count) of \(snapshot.services.count) entries; a second SIGINT or SIGTERM kills them at once",
            metadata: [
                "entries": "\(running.map { "\($0.name) (pid \($0.pid.map(String.init) ?? "-"))" }.joined(separator: ", "))",
                "deadline": "\(Timestamp.string(deadline))",
                "grace": "\(Int(longest.inSeconds)) s",
            ])
        let all = controllers
        controllers = [:]
        let stopping = Array(retiring.values)
        let total = all.count + stopping.count
        let longestGrace = all.values.map(\.terminationGracePeriod).max() ?? .zero
        logger.info(
            "stopping every runtime",
            metadata: [
                "count": "\(total)", "longestGraceSeconds": "\(longestGrace.inSeconds)",
            ])
        let left = Countdown(total)
        let logger = self.logger
        let progress = Task {
            let clock = ContinuousClock()
            let started = clock.now
            while true {
                try await Task.sleep(for: .seconds(5))
                let remaining = left.value
                logger.info(
                    "still stopping",
                    metadata: [
                        "left": "\(remaining)", "of": "\(total)", "elapsedSeconds": "\(Int((clock.now - started).components.seconds))",
                    ])
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for controller in all.values {
                group.addTask {
                    await controller.stop()
                    left.decrement()
                }
            }
            for stop in stopping {
                group.addTask {
                    await stop.value
                    left.decrement()
                }
            }
        }
        progress.cancel()
        await store.markAllStopped(reason: .AgentShutdown, message: "metal-agent is shutting down")
    }
}

/// A count shared between tasks (how many services are still stopping).
private final class Countdown: Sendable {
    private let count: Mutex<Int>
    init(_ count: Int) { self.count = Mutex(count) }
    var value: Int { count.withLock { $0 } }
    func decrement() { count.withLock { $0 -= 1 } }
}

extension Agent: OnDemandControl {}
