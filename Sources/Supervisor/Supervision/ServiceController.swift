import ConfigModel
import Executors
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Supervises one InferenceService: start, readiness, liveness, restart with backoff, stop.
///
/// One task runs the loop; `stop()` cancels it and waits until the process group is gone.
final class ServiceController: Sendable {
    let name: String
    /// The fingerprint of what this controller runs.
    let specHash: String
    /// The port this service listens on for its whole life (restarts keep it).
    let port: Int
    /// Seconds between SIGTERM and SIGKILL when it is stopped.
    let terminationGracePeriod: Duration
    private let task: Task<Void, Never>
    private let store: StatusStore

    struct Context: Sendable {
        var store: StatusStore
        var ledger: ChildLedger
        var prober: HTTPProber
        var backoff: BackoffPolicy
        var logLimits: LogLimits
        var livenessPeriod: Duration?
        var livenessFailureThreshold: Int?
        /// How to start a runtime guard (`metal-agent-guard`) around each runtime; nil runs runtimes directly.
        var runtimeGuard: [String]?
        /// Stops helpers a dead guard handed to the agent; nil without guards.
        var sweeper: OrphanSweeper?
        /// Downloads and checks models before a start; nil skips that (the model must be in place).
        var fetcher: ModelFetcher? = nil
        /// Admits starts within the memory budget; nil admits every start.
        var admission: MemoryAdmission? = nil
        /// Counts restarts and times liveness probes for `GET /metrics`; nil without the endpoint.
        var metrics: OperatorMetrics? = nil
        /// Measures Ready time and sleeps between restarts (backoff).
        var clock: any SupervisionClock = SystemSupervisionClock()
        var logger: Logger
        /// Called with the port and the entry's history after this ending when a start finds the entry's
        /// port held by another process; set only for an agent-assigned port (the agent moves the entry
        /// to a free one, with this history).
        var portBusy: (@Sendable (_ port: Int, _ history: ServiceHistory) -> Void)? = nil
    }

    /// - Parameters:
    ///   - after: a stop that must finish before the first start (the same entry's previous process).
    ///   - history: the restart count and last ending the status starts from (an entry that only moves
    ///     to another port keeps them).
    init(
        desired: DesiredService, resolved: ResolvedService, executor: any RuntimeExecutor, logPath: String,
        after predecessor: Task<Void, Never>? = nil, history: ServiceHistory = ServiceHistory(), context: Context
    ) {
        self.name = desired.name
        self.specHash = desired.specHash ?? ""
        self.port = resolved.port
        self.store = context.store
        var launch = executor.launch(resolved)
        self.terminationGracePeriod = launch.terminationGracePeriod
        if let period = context.livenessPeriod { launch.liveness.period = period }
        if let threshold = context.livenessFailureThreshold { launch.liveness.failureThreshold = threshold }
        var status = desired.baseStatus
        history.apply(to: &status)
        status.port = resolved.port
        status.endpoint = launch.serviceURL
        status.logFile = logPath
        var loop = SupervisionLoop(launch: launch, logPath: logPath, status: status, context: context)
        loop.fetch = desired.fetch
        loop.resolved = resolved
        task = Task {
            await predecessor?.value
            await loop.run()
        }
    }

    /// Stops the service: SIGTERM to its process group, the grace period, SIGKILL. Returns when it is gone.
    /// The stop begins before the status shows `Terminating` (marking it may wait for a status write, a
    /// few ms with 1,000 entries); a successor, which waits for this to return, still reports after it.
    func stop() async {
        task.cancel()
        await store.markTerminating(name)
        await task.value
    }
}
