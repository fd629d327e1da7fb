import Synchronization
import TestSupport
import Testing

@testable import Supervisor

/// A liveness watch (or a probe) whose task is cancelled before it reaches the probe loop must still
/// end. It once did not: `onCancel` ran first, the loop took and dropped that cancellation, and the
/// watch submitted just after lived on while its runtime answered, so the stop that had cancelled it
/// waited forever (the entry stuck in `Terminating`, seen in CI as an edit that never applied).
@Suite struct ProbeLoopCancellationTests {
    /// Counts tasks that ended.
    final class Ended: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }

        /// Polls until `expected` have ended or `seconds` have passed (a task that never ends is left
        /// behind: waiting for it would hang the test instead of failing it); how many ended.
        func wait(for expected: Int, seconds: Int) async -> Int {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while value < expected, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            return value
        }
    }

    @Test func watchesCancelledAroundTheirStartAllEnd() async throws {
        let loop = ProbeLoop()
        let address = try #require(SocketAddress(endpoint: "http://127.0.0.1:9"))
        let request = Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let ended = Ended()
        for round in 0..<1000 {
            // No probe is due for an hour: only cancellation can end these watches.
            let task = Task {
                _ = await loop.watch(
                    request, with: address, period: .seconds(3600), timeout: .seconds(1), failureThreshold: 1,
                    judge: { _ in "failed" }, observe: { _ in })
                ended.add()
            }
            if round % 2 == 0 { await Task.yield() }
            task.cancel()
        }
        // Generous: a cancelled watch ends within one turn of the loop.
        #expect(await ended.wait(for: 1000, seconds: 60) == 1000)
    }

    @Test func probesCancelledAroundTheirStartAllEndAsCancelled() async throws {
        let loop = ProbeLoop()
        // A listener that never answers: only cancellation (or the 120 s timeout) ends these probes.
        let listener = try LoopbackListener()
        let address = try #require(SocketAddress(endpoint: "http://127.0.0.1:\(listener.port)"))
        let request = Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let ended = Ended()
        for round in 0..<200 {
            let task = Task {
                _ = await loop.exchange(request, with: address, timeout: .seconds(120))
                ended.add()
            }
            if round % 2 == 0 { await Task.yield() }
            task.cancel()
        }
        #expect(await ended.wait(for: 200, seconds: 60) == 200)
        listener.close()
    }
}
