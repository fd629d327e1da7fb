import ConfigModel
import Executors
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The loop behind a `ServiceController`. Runs in one task; its state is local to that task.
struct SupervisionLoop: Sendable {
    let launch: LaunchDescription
    let logPath: String
    let initialStatus: ServiceStatus
    let context: Context
    typealias Context = ServiceController.Context
    /// A download or checksum to finish before the first start.
    var fetch: ModelFetch?
    /// The entry as resolved, for its memory estimate.
    var resolved: ResolvedService?

    init(launch: LaunchDescription, logPath: String, status: ServiceStatus, context: Context) {
        self.launch = launch
        self.logPath = logPath
        self.initialStatus = status
        self.context = context
    }

    private enum StartOutcome {
        case ready
        /// The process ended; `portTaken` when another program answered on its port meanwhile.
        case exited(Termination, portTaken: Bool)
        case timedOut(portTaken: Bool)
        case cancelled
    }
    private enum RunOutcome {
        case exited(Termination)
        case livenessFailed(String)
        case cancelled
    }

    /// Fetches the model (when the entry needs that), then supervises the runtime until cancelled or it
    /// ends for good, with memory admission before each start; the admission is released when it returns.
    func run() async {
        var status = initialStatus
        guard await fetchModel(&status) else { return }
        var grant: MemoryAdmission.Grant?
        await supervise(status, grant: &grant)
        if let grant, let memory = context.admission { await memory.release(grant) }
    }

    /// How one run ended: the process's own ending (nil when it never ran) and why, for the status.
    private struct Ending {
        var termination: Termination?
        var reason: Reason
        var message: String
    }

    /// Runs the runtime again and again, backing off between runs, until cancelled or the entry's
    /// `restartPolicy` keeps an ending.
    /// `grant`: the memory admission held; nil before the first start.
    private func supervise(_ initial: ServiceStatus, grant: inout MemoryAdmission.Grant?) async {
        var status = initial
        var logger = context.logger
        logger[metadataKey: "service"] = "\(status.name)"
        var attempt = 0
        while !Task.isCancelled {
            switch await admit(&status, held: grant) {
            case .cancelled:
                grant = nil  // released by `admit` before it waited
                return
            case .granted(let held): grant = held
            case .skipped: break
            }
            status.phase = .Starting
            status.ready = false
            status.nextRestartAt = nil
            status.pid = nil
            status.processGroup = nil
            await context.store.update(status)
            guard let ending = await runOnce(&status, attempt: &attempt, logger: logger) else { return }
            status.ready = false
            status.pid = nil
            status.processGroup = nil
            if let termination = ending.termination {
                var history = ServiceHistory(of: status)
                history.record(termination)
                history.apply(to: &status)
            }
            if await keptEnded(ending, &status, logger: logger) { return }
            // Crashed, failed a probe or never started: back off, then try again.
            attempt += 1
            status.restarts += 1
            context.metrics?.restarted(name: status.name, namespace: status.namespace)
            let delay = context.backoff.delay(forAttempt: attempt)
            status.phase = .CrashLoopBackOff
            status.reason = ending.reason
            // An agent-assigned port held by another process moves at once (`portBusy`): the entry is
            // replaced on a free port, and this backoff only lasts if no port is free.
            let moving = ending.reason == .PortInUse && context.portBusy != nil
            status.message =
                ending.message + (moving ? "; moving to a free port of --port-range (if none is free, restarting in \(delay))" : "; restarting in \(delay)")
            status.nextRestartAt = Timestamp.string(Date().addingTimeInterval(delay.inSeconds))
            await context.store.update(status)
            if !moving {
                logger.warning("backing off", metadata: ["reason": "\(ending.reason)", "detail": "\(ending.message)", "delay": "\(delay)"])
            }
            do { try await context.clock.sleep(for: delay) } catch { return }
        }
    }

    /// The entry's history once a run that ended with `termination` (nil: it never ran) counts as a
    /// restart, as `supervise` will count it: for an entry that moves to another port.
    static func history(after termination: Termination?, _ status: ServiceStatus) -> ServiceHistory {
        var history = ServiceHistory(of: status)
        history.restarts += 1
        if let termination { history.record(termination) }
        return history
    }

    /// restartPolicy (Kubernetes semantics): `Never` keeps any ending, `OnFailure` keeps a clean exit.
    /// Returns true, with the final status written, when this ending is kept.
    private func keptEnded(_ ending: Ending, _ status: inout ServiceStatus, logger: Logger) async -> Bool {
        let completed = ending.termination == .exited(0) && Self.endedOnItsOwn(ending.reason)
        guard launch.restartPolicy == .Never || (launch.restartPolicy == .OnFailure && completed) else { return false }
        status.phase = completed ? .Stopped : .Failed
        status.reason = completed ? .Completed : ending.reason
        status.message = ending.message + "; restartPolicy \(launch.restartPolicy.rawValue): not restarted (edit the entry to start it again)"
        status.nextRestartAt = nil
        await context.store.update(status)
        logger.warning("not restarting", metadata: ["restartPolicy": "\(launch.restartPolicy.rawValue)", "reason": "\(status.reason?.rawValue ?? "")"])
        return true
    }

    /// One run: checks the port, spawns, waits for readiness, watches liveness, and stops what is left.
    /// Resets `attempt` after a run Ready for the backoff's reset time. Returns nil when cancelled (the
    /// process is stopped first).
    private func runOnce(_ status: inout ServiceStatus, attempt: inout Int, logger: Logger) async -> Ending? {
        let grace = launch.terminationGracePeriod
        guard PortAllocator.isFree(launch.port, host: launch.host) else {
            // Another process holds the port: starting would only fail with a less clear error.
            logger.error("port in use", metadata: ["port": "\(launch.port)"])
            context.portBusy?(launch.port, Self.history(after: nil, status))
            return Ending(
                termination: nil, reason: .PortInUse,
                message: "port \(launch.port) on \(launch.host) is in use (by another process, or by an entry's agent-assigned port)")
        }
        let child: ChildProcess
        switch await ChildProcess.spawn(launch, logPath: logPath, limits: context.logLimits, guardCommand: context.runtimeGuard, sweeper: context.sweeper) {
        case .failure(let error):
            logger.error("spawn failed", metadata: ["error": "\(error.message)"])
            return Ending(termination: .spawnFailed(error.message), reason: .SpawnFailed, message: "cannot start \(launch.executable): \(error.message)")
        case .success(let started):
            child = started
        }
        await context.ledger.started(status.name, pid: child.pid, guarded: child.guarded)
        status.pid = child.runtimePid
        status.processGroup = child.pid
        status.startedAt = Timestamp.string()
        status.reason = nil
        status.message = child.logProblem
        if let problem = child.logProblem { logger.warning("\(problem)") }
        await context.store.update(status)
        logger.info("started", metadata: ["pid": "\(child.runtimePid)", "pgid": "\(child.pid)", "endpoint": "\(launch.endpoint)"])
        // Why it failed is often in its own output (a bad flag, a model that fails to load, a port in use).
        let said = { child.output.tellingLine.map { "; its output: \($0)" } ?? "" }
        let ending: Ending
        let waiting = status
        let strangerSeen = { @Sendable in
            // Said in the status too, not only in the log: the entry may stay Starting for its whole
            // startup timeout while another program answers.
            var s = waiting
            s.message = "port \(launch.port) is answered by another process, not this runtime: not Ready on its answers"
            await context.store.update(s)
        }
        switch await awaitReadiness(child, strangerSeen: strangerSeen) {
        case .cancelled:
            await retire(child, grace: grace, logger: logger)
            return nil
        case .exited(let t, portTaken: false):
            ending = Ending(termination: t, reason: .ExitedBeforeReady, message: "exited before it became ready: \(t)\(said())")
        case .exited(let t, portTaken: true):
            // It could not bind a port another program listens on: an agent-assigned port moves now.
            context.portBusy?(launch.port, Self.history(after: t, status))
            ending = Ending(
                termination: t, reason: .PortInUse,
                message: "exited before it became ready: \(t)\(said()); another program took port \(launch.port) before the runtime bound it")
        case .timedOut(let portTaken):
            let t = await child.terminate(grace: grace, logger: logger)
            let taken = portTaken ? "; the probes were answered by a program outside the runtime's process tree, which listens on its port" : ""
            ending = Ending(
                termination: t, reason: .StartupTimeout,
                message:
                    "not ready within \(Int(launch.startupTimeout.inSeconds)) s (readiness \(launch.readiness.method) \(launch.readiness.path))\(taken); stopped"
            )
        case .ready:
            let readyAt = context.clock.now
            status.phase = .Ready
            status.ready = true
            await context.store.update(status)
            logger.info("ready", metadata: ["endpoint": "\(launch.endpoint)"])
            let outcome = await watchLiveness(child)
            if context.clock.now - readyAt >= context.backoff.resetAfter { attempt = 0 }
            switch outcome {
            case .cancelled:
                await retire(child, grace: grace, logger: logger)
                return nil
            case .exited(let t):
                ending = Ending(termination: t, reason: .Exited, message: "exited while ready: \(t)\(said())")
            case .livenessFailed(let detail):
                let t = await child.terminate(grace: grace, logger: logger)
                ending = Ending(
                    termination: t, reason: .LivenessFailed,
                    message:
                        "liveness probe \(launch.liveness.method) \(launch.liveness.path) failed \(launch.liveness.failureThreshold) times (\(detail)); restarted"
                )
            }
        }
        // The leader is gone; whatever it left in its process group goes too (it may hold the port).
        await retire(child, grace: grace, logger: logger)
        return ending
    }

    /// Whether the process ended by itself (its exit code is its own verdict), rather than being stopped
    /// by the agent (a failed probe) or never running. Only such an exit with code 0 is `Completed` under
    /// `restartPolicy: OnFailure`, as the kubelet treats a container that exits 0.
    static func endedOnItsOwn(_ reason: Reason) -> Bool {
        switch reason {
        case .Exited, .ExitedBeforeReady: return true
        default: return false
        }
    }

    /// Stops the child's whole process group (at once when the leader already exited) and drops it
    /// from the ledger.
    private func retire(_ child: ChildProcess, grace: Duration, logger: Logger) async {
        await child.terminate(grace: grace, logger: logger)
        await context.ledger.ended(pid: child.pid)
    }

    /// Probes readiness until it passes, the process exits, the startup timeout runs out, or the task is
    /// cancelled. A pass counts only when every socket listening on the port is the runtime's
    /// (`PortListener`): while another program answers there, the runtime is not Ready, and it is left
    /// to fail its own bind (or to be stopped at the startup timeout); it is not stopped at once, since
    /// a runtime whose server runs outside its process tree would then be stopped at every start.
    private func awaitReadiness(_ child: ChildProcess, strangerSeen: @Sendable () async -> Void) async -> StartOutcome {
        let probe = launch.readiness
        let deadline = ContinuousClock.now + launch.startupTimeout
        var successes = 0
        var portTaken = false
        let period = probe.period
        // Start fast and slow down to the probe's period once the runtime answers (a model loading):
        // a small model is up in a few hundred ms. While nothing listens yet (connection refused, which
        // costs microseconds), keep the fast pace, so a runtime that binds its port late is seen at once.
        // The first retries come sooner (5 ms, then 10 ms): a small runtime binds within milliseconds.
        let fastest = min(Duration.milliseconds(20), period)
        var interval = min(Duration.milliseconds(5), fastest)
        while true {
            if Task.isCancelled { return .cancelled }
            if let t = child.termination { return .exited(t, portTaken: portTaken) }
            let outcome = await context.prober.check(probe, endpoint: launch.endpoint)
            if outcome.passed {
                successes += 1
                if successes >= probe.successThreshold {
                    guard PortListener.owner(of: launch.endpoint, tree: child.pid) == .stranger else { return .ready }
                    if !portTaken {
                        context.logger.error(
                            "port answered by another process: not Ready on its answers",
                            metadata: ["service": "\(initialStatus.name)", "port": "\(launch.port)"])
                        await strangerSeen()
                    }
                    portTaken = true
                    successes = 0
                }
            } else {
                successes = 0
            }
            if ContinuousClock.now >= deadline { return .timedOut(portTaken: portTaken) }
            if let t = await child.waitForExit(timeout: interval) { return .exited(t, portTaken: portTaken) }
            if case .unreachable = outcome { interval = min(interval * 2, fastest) } else { interval = min(interval * 2, period) }
        }
    }

    /// Probes liveness on its period until it fails `failureThreshold` times in a row, the process exits, or cancellation.
    /// The probe loop keeps the schedule (`HTTPProber.watch`); this task only waits for either end.
    private func watchLiveness(_ child: ChildProcess) async -> RunOutcome {
        let probe = launch.liveness
        let endpoint = launch.endpoint
        let prober = context.prober
        let metrics = context.metrics
        let name = initialStatus.name
        let namespace = initialStatus.namespace
        return await withTaskGroup(of: RunOutcome.self) { group in
            group.addTask {
                if let t = await child.waitForExit() { return .exited(t) }
                return .cancelled
            }
            group.addTask {
                let failure = await prober.watch(probe, endpoint: endpoint) { duration in
                    metrics?.healthChecked(name: name, namespace: namespace, duration: duration)
                }
                // (A process that dies is seen by the other task at once, long before its probes could fail
                // `failureThreshold` times.)
                return failure.map { .livenessFailed("\($0)") } ?? .cancelled
            }
            let first = await group.next() ?? .cancelled
            group.cancelAll()
            return Task.isCancelled ? .cancelled : first
        }
    }
}
