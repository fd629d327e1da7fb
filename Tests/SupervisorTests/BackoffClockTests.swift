import Executors
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Supervisor

let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A clock that moves only when a test says so; it records every sleep the supervision loop asks for.
final class ManualClock: SupervisionClock {
    private struct Sleeper {
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Duration = .zero
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
        var requests: [Duration] = []
    }
    private let state = Mutex(State())

    var now: Duration { state.withLock { $0.now } }

    /// Sleeps that have not been resumed yet.
    var sleepersWaiting: Int { state.withLock { $0.sleepers.count } }

    func sleep(for duration: Duration) async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { s -> Bool in
                    if Task.isCancelled { return true }
                    s.sleepers[id] = Sleeper(deadline: s.now + duration, continuation: continuation)
                    s.requests.append(duration)
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose time has come.
    func advance(by duration: Duration) {
        let due = state.withLock { s -> [Sleeper] in
            s.now += duration
            let ids = s.sleepers.filter { $0.value.deadline <= s.now }.map(\.key)
            return ids.compactMap { s.sleepers.removeValue(forKey: $0) }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// The next sleep the loop asked for, waiting (real time) at most `deadline` for it.
    func nextSleep(within deadline: Duration = .seconds(60)) async throws -> Duration? {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            let request = state.withLock { s -> Duration? in s.requests.isEmpty ? nil : s.requests.removeFirst() }
            if let request { return request }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}

/// The CrashLoopBackOff schedule of the real supervision loop, with real child processes, on a manual clock.
@Suite(.serialized) struct BackoffClockTests {
    let dir: URL
    let store: StatusStore
    let clock = ManualClock()

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("metal-agent-backoff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = StatusStore(
            file: StatusFile(path: dir.appendingPathComponent("status.json").path),
            capabilities: .init(runtimes: ["test"], defaultRuntime: "test", binaries: [:], formats: [:], host: "127.0.0.1"),
            node: NodeInfo.current(agentVersion: "test"), configPath: dir.appendingPathComponent("models.yaml").path,
            logger: quiet)
    }

    /// A loopback address no other test listens on (Linux routes all of 127/8 to `lo`): a runtime that never
    /// listens is probed there, so a server another test starts on a recycled port cannot answer the probe
    /// (and see a stray request). Elsewhere 127.0.0.1.
    static let quietLoopback = Platform.name == "linux" ? "127.0.0.2" : "127.0.0.1"

    func loop(_ executable: String, _ arguments: [String], port: Int, host: String = "127.0.0.1") async -> SupervisionLoop {
        await store.configApplied(generation: 1, serviceOrder: ["svc"], warnings: [], specs: [:])
        let launch = LaunchDescription(
            executable: executable, arguments: arguments, environment: [:], host: host, port: port,
            readiness: HTTPProbe(path: "/health", period: .seconds(0.2)), liveness: HTTPProbe(path: "/health", period: .seconds(3600)),
            startupTimeout: .seconds(60), terminationGracePeriod: .seconds(1))
        var context = ServiceController.Context(
            store: store, ledger: ChildLedger(path: dir.appendingPathComponent("children.json").path, logger: quiet),
            prober: HTTPProber(), backoff: .kubelet, logLimits: .kubelet, logger: quiet)
        context.clock = clock
        var status = ServiceStatus(name: "svc", model: "m", phase: .Pending)
        status.port = port
        return SupervisionLoop(launch: launch, logPath: dir.appendingPathComponent("svc.log").path, status: status, context: context)
    }

    func service() async -> ServiceStatus? { await store.snapshot.services.first }

    /// Polls the store (real time, generous deadline) until `condition` holds.
    func waitFor(_ what: String, _ condition: (ServiceStatus) -> Bool) async throws -> ServiceStatus {
        let end = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < end {
            if let s = await service(), condition(s) { return s }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(what); last: \(String(describing: await service()))")
        throw CancellationError()
    }

    @Test func crashLoopFollowsTheKubeletScheduleAndWaitsForTheClock() async throws {
        let supervision = await loop("/bin/sh", ["-c", "exit 3"], port: try LoopbackListener.freePort(), host: Self.quietLoopback)
        let run = Task { await supervision.run() }
        defer { run.cancel() }
        var schedule: [Duration] = []
        for restart in 1...8 {
            let delay = try #require(try await clock.nextSleep(), "restart \(restart): the loop never backed off")
            schedule.append(delay)
            let s = try #require(await service())
            #expect(s.phase == .CrashLoopBackOff && s.restarts == restart && s.lastExitCode == 3 && s.reason == .ExitedBeforeReady, "\(s)")
            #expect(s.nextRestartAt != nil)
            // One second short of the delay, nothing may restart.
            clock.advance(by: delay - .seconds(1))
            #expect(clock.sleepersWaiting == 1, "restarted before its backoff ran out")
            clock.advance(by: .seconds(1))
        }
        #expect(schedule == [10, 20, 40, 80, 160, 300, 300, 300].map { Duration.seconds($0) })
        run.cancel()
        await run.value
    }

    @Test func tenMinutesReadyResetsTheBackoff() async throws {
        let fake = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../IntegrationTests/Fixtures/fake-runtime").standardized.path
        let port = try LoopbackListener.freePort()
        let supervision = await loop(fake, ["--model", "/dev/null", "--port", "\(port)"], port: port)
        let run = Task { await supervision.run() }
        defer { run.cancel() }

        func killWhenReady(after readyTime: Duration) async throws -> Duration? {
            let ready = try await waitFor("Ready") { $0.phase == .Ready && $0.pid != nil }
            clock.advance(by: readyTime)
            kill(try #require(ready.pid), SIGKILL)
            return try await clock.nextSleep()
        }
        // Crashes after short runs double the delay...
        #expect(try await killWhenReady(after: .seconds(1)) == .seconds(10))
        clock.advance(by: .seconds(10))
        #expect(try await killWhenReady(after: .seconds(599)) == .seconds(20))
        clock.advance(by: .seconds(20))
        // ...a crash after 10 minutes Ready starts again at the initial delay.
        #expect(try await killWhenReady(after: .seconds(600)) == .seconds(10))
        let s = try #require(await service())
        #expect(s.restarts == 3 && s.lastSignal == 9 && s.reason == .Exited)
        run.cancel()
        await run.value
    }
}
