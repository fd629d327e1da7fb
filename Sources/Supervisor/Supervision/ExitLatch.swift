import Synchronization

/// A one-shot event that many tasks can await: resolved once with a process's `Termination`.
///
/// Waiting is cancellation-aware: a cancelled waiter returns nil at once instead of hanging.
final class ExitLatch: Sendable {
    private struct State {
        var result: Termination?
        var waiters: [UInt64: CheckedContinuation<Termination?, Never>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The result, if resolved.
    var result: Termination? { state.withLock { $0.result } }

    /// Resolves the latch; later calls are ignored.
    func resolve(_ termination: Termination) {
        let waiters = state.withLock { s -> [CheckedContinuation<Termination?, Never>] in
            guard s.result == nil else { return [] }
            s.result = termination
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: termination) }
    }

    /// Waits for the result; nil when the calling task is cancelled first.
    func wait() async -> Termination? {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Termination?, Never>) in
                let immediate: Termination?? = state.withLock { s in
                    if let result = s.result { return .some(result) }
                    if Task.isCancelled { return .some(nil) }
                    s.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }

    /// Waits at most `timeout`; nil when it ran out (or the task was cancelled).
    func wait(timeout: Duration) async -> Termination? {
        if let result { return result }
        return await withTaskGroup(of: Termination?.self) { group in
            group.addTask { await self.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? self.result
        }
    }
}
