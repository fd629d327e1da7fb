import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Admits entries to start only while their memory estimates fit the budget together.
///
/// Each start asks `admit`; an entry that does not fit waits (its caller shows `Pending` /
/// `InsufficientMemory`) and is admitted as soon as a `release` (an entry removed, stopped or ended) frees
/// enough. Waiters are re-checked in arrival order; a smaller later one may start before a larger earlier one.
actor MemoryAdmission {
    /// One admitted entry.
    struct Grant: Sendable, Hashable {
        var id: UUID
        var bytes: Int64
    }

    /// Total bytes entries may commit.
    let budget: Int64
    let mode: MemoryCheckMode
    private let logger: Logger
    private let changed: @Sendable (_ committed: Int64) async -> Void
    private var admitted: [UUID: (name: String, bytes: Int64)] = [:]
    private var waiting: [(id: UUID, name: String, bytes: Int64, limit: Int64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var cancelledEarly: Set<UUID> = []

    /// - Parameter changed: told the committed total after each change (for the status file).
    init(budget: Int64, mode: MemoryCheckMode, logger: Logger, changed: @escaping @Sendable (Int64) async -> Void) {
        self.budget = budget
        self.mode = mode
        self.logger = logger
        self.changed = changed
    }

    /// Bytes admitted entries hold now.
    var committed: Int64 { admitted.values.reduce(0) { Self.sum($0, $1.bytes) } }

    /// `a + b`, saturated at `Int64.max`: estimates are capped, but many capped ones, or a Model's
    /// budget of exabytes, must not trap the agent.
    static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : total
    }

    /// Waits until `bytes` fit next to what is admitted, then holds them for `name` until `release`.
    /// - Parameter waiting: called once when the entry has to wait, with a sentence that has the figures.
    /// - Throws: `CancellationError` when the caller is cancelled while it waits.
    /// - Parameter limit: the budget this entry is admitted against (its Model's `hardware.memoryBudget`
    ///   or `memoryFraction`); nil: the agent's `budget`.
    func admit(_ name: String, bytes: Int64, limit: Int64? = nil, waiting onWait: @Sendable (String) async -> Void) async throws -> Grant {
        let id = UUID()
        let grant = Grant(id: id, bytes: bytes)
        let budget = limit ?? self.budget
        if mode == .off || Self.sum(committed, bytes) <= budget {
            await hold(id, name, bytes)
            return grant
        }
        let source = limit == nil ? "the memory budget" : "its Model's memory budget (spec.hardware)"
        let message =
            bytes > budget
            ? "needs an estimated \(bytes) bytes, more than \(source) of \(budget) bytes on its own: it starts only once the budget is raised or the estimate lowered (contextSize or an extraArgs -c, cache types, a smaller model)"
            : "needs an estimated \(bytes) bytes; \(source) is \(budget) bytes and running entries hold \(committed) (\(max(0, budget - committed)) free); it starts when memory frees up"
        if mode == .warn {
            logger.warning("over the memory budget; starting anyway (--memory-check warn)", metadata: ["service": "\(name)", "detail": "\(message)"])
            await hold(id, name, bytes)
            return grant
        }
        logger.warning("waiting for memory", metadata: ["service": "\(name)", "detail": "\(message)"])
        await onWait(message)
        // Memory freed while `onWait` ran (this actor served a release meanwhile, before this waiter was
        // in line to be woken): take it now, or it would wait for the next release.
        if Self.sum(committed, bytes) <= budget {
            await hold(id, name, bytes)
            return grant
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if cancelledEarly.remove(id) != nil {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiting.append((id, name, bytes, budget, continuation))
                }
            }
        } onCancel: {
            Task { await self.abandon(id) }
        }
        return grant
    }

    /// Changes what `grant` holds to `bytes` (its entry's estimate changed between two starts) without
    /// giving up its place in line: a smaller estimate always fits (and may admit waiters), a larger one
    /// when it fits next to the other admitted entries (or the mode does not enforce).
    /// - Returns: the grant with its new size; nil when the larger size does not fit, or `grant` is not
    ///   held: it is then released (waiters that now fit are admitted) and the caller asks `admit` again.
    func resize(_ grant: Grant, to bytes: Int64, limit: Int64? = nil) async -> Grant? {
        guard let held = admitted[grant.id] else { return nil }
        let budget = limit ?? self.budget
        let fits = Self.sum(committed - held.bytes, bytes) <= budget
        guard bytes <= held.bytes || fits || mode != .enforce else {
            await release(grant)
            return nil
        }
        if !fits && mode == .warn && bytes > held.bytes {
            logger.warning(
                "over the memory budget; starting anyway (--memory-check warn)",
                metadata: [
                    "service": "\(held.name)",
                    "detail": "its estimate grew to \(bytes) bytes; \(budget) bytes budget, \(committed - held.bytes) held by others",
                ])
        }
        admitted[grant.id] = (held.name, bytes)
        await changed(committed)
        if bytes < held.bytes { await admitWaiters() }
        return Grant(id: grant.id, bytes: bytes)
    }

    /// Gives back what `grant` held, and admits waiters that now fit.
    func release(_ grant: Grant) async {
        guard admitted.removeValue(forKey: grant.id) != nil else { return }
        await changed(committed)
        await admitWaiters()
    }

    /// Admits the waiters that fit now, in arrival order.
    private func admitWaiters() async {
        var still: [(id: UUID, name: String, bytes: Int64, limit: Int64, continuation: CheckedContinuation<Void, any Error>)] = []
        var admittedNow = false
        for waiter in waiting {
            if Self.sum(committed, waiter.bytes) <= waiter.limit {
                admitted[waiter.id] = (waiter.name, waiter.bytes)
                logger.info("memory freed; admitted", metadata: ["service": "\(waiter.name)", "bytes": "\(waiter.bytes)"])
                waiter.continuation.resume()
                admittedNow = true
            } else {
                still.append(waiter)
            }
        }
        waiting = still
        if admittedNow { await changed(committed) }
    }

    private func hold(_ id: UUID, _ name: String, _ bytes: Int64) async {
        admitted[id] = (name, bytes)
        await changed(committed)
    }

    private func abandon(_ id: UUID) {
        if let index = waiting.firstIndex(where: { $0.id == id }) {
            waiting.remove(at: index).continuation.resume(throwing: CancellationError())
        } else if admitted[id] == nil {
            cancelledEarly.insert(id)
        }
    }
}
