import ConfigModel
import Executors
import Foundation
import Logging

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

    private enum StartOutcome { case ready, exited(Termination), timedOut, cancelled }
    private enum RunOutcome { case exited(Termination), livenessFailed(String), cancelled }

    /// Fetches the model (when the entry needs that), waits for memory admission, then supervises the
    /// runtime until cancelled or it ends for good; the admission is released when it returns.
    func run() async {
        var status = initialStatus
        guard await fetchModel(&status) else { return }
        let admission = await admit(&status)
        if case .cancelled = admission { return }
        await supervise(status)
        if case .granted(let grant) = admission, let memory = context.admission { await memory.release(grant) }
    }

    private func supervise(_ initial: ServiceStatus) async {
        var status = initial
        var logger = context.logger
        logger[metadataKey: "service"] = "\(status.name)"
        var attempt = 0
        let clock = context.clock
        let grace = Duration.milliseconds(Int64(launch.terminationGracePeriodSeconds * 1000))

        while !Task.isCancelled {
            status.phase = .Starting
            status.ready = false
            status.nextRestartAt = nil
            status.pid = nil
            status.processGroup = nil
            await context.store.update(status)

            var termination: Termination?
            var why: (reason: String, message: String)
            if !PortAllocator.isFree(launch.port, host: launch.host) {
                // Another process holds the port: starting would only fail with a less clear error.
                termination = nil
                why = ("PortInUse", "port \(launch.port) on \(launch.host) is in use (by another process, or by an entry's agent-assigned port)")
                logger.error("port in use", metadata: ["port": "\(launch.port)"])
            } else {
                switch await ChildProcess.spawn(launch, logPath: logPath, limits: context.logLimits, guardCommand: context.runtimeGuard, sweeper: context.sweeper) {
                case .failure(let error):
                    termination = .spawnFailed(error.message)
                    why = ("SpawnFailed", "cannot start \(launch.executable): \(error.message)")
                    logger.error("spawn failed", metadata: ["error": "\(error.message)"])
                case .success(let child):
                    await context.ledger.started(status.name, pid: child.pid, guarded: child.guarded)
                    status.pid = child.runtimePid
                    status.processGroup = child.pid
                    status.startedAt = Timestamp.string()
                    status.reason = nil
                    status.message = child.logProblem
                    if let problem = child.logProblem { logger.warning("\(problem)") }
                    await context.store.update(status)
                    logger.info("started", metadata: ["pid": "\(child.runtimePid)", "pgid": "\(child.pid)", "endpoint": "\(launch.endpoint)"])

                    switch await awaitReadiness(child) {
                    case .cancelled:
                        await retire(child, grace: grace, logger: logger)
                        return
                    case .exited(let t):
                        termination = t
                        // Why it failed is in its own output (a bad flag, a model that fails to load, a port in use).
                        let said = child.output.tellingLine.map { "; its output: \($0)" } ?? ""
                        why = ("ExitedBeforeReady", "exited before it became ready: \(t)\(said)")
                    case .timedOut:
                        termination = await child.terminate(grace: grace, logger: logger)
                        why = ("StartupTimeout", "not ready within \(Int(launch.startupTimeoutSeconds)) s (readiness \(launch.readiness.method) \(launch.readiness.path)); stopped")
                    case .ready:
                        let readyAt = clock.now
                        status.phase = .Ready
                        status.ready = true
                        await context.store.update(status)
                        logger.info("ready", metadata: ["endpoint": "\(launch.endpoint)"])
                        let outcome = await watchLiveness(child)
                        if clock.now - readyAt >= context.backoff.resetAfter { attempt = 0 }
                        switch outcome {
                        case .cancelled:
                            await retire(child, grace: grace, logger: logger)
                            return
                        case .exited(let t):
                            termination = t
                            let said = child.output.tellingLine.map { "; its output: \($0)" } ?? ""
                            why = ("Exited", "exited while ready: \(t)\(said)")
                        case .livenessFailed(let detail):
                            termination = await child.terminate(grace: grace, logger: logger)
                            why = ("LivenessFailed", "liveness probe \(launch.liveness.method) \(launch.liveness.path) failed \(launch.liveness.failureThreshold) times (\(detail)); restarted")
                        }
                    }
                    // The leader is gone; whatever it left in its process group goes too (it may hold the port).
                    await retire(child, grace: grace, logger: logger)
                }
            }

            status.ready = false
            status.pid = nil
            status.processGroup = nil
            if let termination {
                status.lastExitCode = termination.exitCode
                if case .signaled(let signal) = termination { status.lastSignal = signal } else { status.lastSignal = nil }
                status.lastTerminationReason = termination.reason
            }

            // restartPolicy (Kubernetes semantics): Never keeps any ending, OnFailure keeps a clean exit.
            let completed = termination == .exited(0) && (why.reason == "Exited" || why.reason == "ExitedBeforeReady")
            if launch.restartPolicy == .Never || (launch.restartPolicy == .OnFailure && completed) {
                status.phase = completed ? .Stopped : .Failed
                status.reason = completed ? "Completed" : why.reason
                status.message = why.message + "; restartPolicy \(launch.restartPolicy.rawValue): not restarted (edit the entry to start it again)"
                status.nextRestartAt = nil
                await context.store.update(status)
                logger.warning("not restarting", metadata: ["restartPolicy": "\(launch.restartPolicy.rawValue)", "reason": "\(status.reason ?? "")"])
                return
            }

            // Crashed, failed a probe or never started: back off, then try again.
            attempt += 1
            status.restarts += 1
            context.metrics?.restarted(name: status.name, namespace: status.namespace)
            let delay = context.backoff.delay(forAttempt: attempt)
            status.phase = .CrashLoopBackOff
            status.reason = why.reason
            status.message = why.message + "; restarting in \(delay)"
            status.nextRestartAt = Timestamp.string(Date().addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18))
            await context.store.update(status)
            logger.warning("backing off", metadata: ["reason": "\(why.reason)", "detail": "\(why.message)", "delay": "\(delay)"])
            do { try await clock.sleep(for: delay) } catch { return }
        }
    }

    /// Stops the child's whole process group (at once when the leader already exited) and drops it
    /// from the ledger.
    private func retire(_ child: ChildProcess, grace: Duration, logger: Logger) async {
        await child.terminate(grace: grace, logger: logger)
        await context.ledger.ended(pid: child.pid)
    }

    /// Probes readiness until it passes, the process exits, the startup timeout runs out, or the task is cancelled.
    private func awaitReadiness(_ child: ChildProcess) async -> StartOutcome {
        let probe = launch.readiness
        let deadline = ContinuousClock.now + .milliseconds(Int64(launch.startupTimeoutSeconds * 1000))
        var successes = 0
        let period = Duration.milliseconds(Int64(probe.periodSeconds * 1000))
        // Start fast and slow down to the probe's period once the runtime answers (a model loading):
        // a small model is up in a few hundred ms. While nothing listens yet (connection refused, which
        // costs microseconds), keep the fast pace, so a runtime that binds its port late is seen at once.
        let fastest = min(Duration.milliseconds(20), period)
        var interval = fastest
        while true {
            if Task.isCancelled { return .cancelled }
            if let t = child.termination { return .exited(t) }
            let outcome = await context.prober.check(probe, endpoint: launch.endpoint)
            if outcome.passed {
                successes += 1
                if successes >= probe.successThreshold { return .ready }
            } else {
                successes = 0
            }
            if ContinuousClock.now >= deadline { return .timedOut }
            if let t = await child.waitForExit(timeout: interval) { return .exited(t) }
            if case .unreachable = outcome { interval = fastest } else { interval = min(interval * 2, period) }
        }
    }

    /// Probes liveness on its period until it fails `failureThreshold` times in a row, the process exits, or cancellation.
    private func watchLiveness(_ child: ChildProcess) async -> RunOutcome {
        let probe = launch.liveness
        let period = Duration.milliseconds(Int64(probe.periodSeconds * 1000))
        var failures = 0
        while true {
            if let t = await child.waitForExit(timeout: period) { return .exited(t) }
            if Task.isCancelled { return .cancelled }
            let probeStarted = ContinuousClock.now
            let outcome = await context.prober.check(probe, endpoint: launch.endpoint)
            context.metrics?.healthChecked(name: initialStatus.name, namespace: initialStatus.namespace, duration: .now - probeStarted)
            if Task.isCancelled { return .cancelled }
            if outcome.passed {
                failures = 0
            } else {
                failures += 1
                if failures >= probe.failureThreshold { return .livenessFailed("\(outcome)") }
            }
        }
    }
}
