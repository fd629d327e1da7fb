import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Requests in flight and last activity per entry, as the gateway counts them, and the on-demand stops
/// it has under way. A lock, not an actor: a request's bookkeeping costs two short critical sections.
///
/// The idle rule: an on-demand entry with an idle timeout and no request in flight is stopped once its
/// last request ended that long ago. A request that arrives while its entry is being stopped waits for
/// the stop to finish and then starts the entry again.
final class GatewayTraffic: Sendable {
    struct Entry: Sendable {
        var inFlight = 0
        var lastActivity = ContinuousClock.now
        var lastActivityDate = Date()
        /// An on-demand stop under way (idle, exclusive group, memory).
        var stopping: Task<Void, Never>?
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let changed: @Sendable () -> Void

    /// Creates empty bookkeeping; `onChange` is called after every change (a request in or out, a stop
    /// ended), outside the lock.
    init(onChange: @escaping @Sendable () -> Void = {}) {
        changed = onChange
    }

    /// Counts a request in; returns a stop of the entry under way, which the request must await first.
    func begin(_ name: String) -> Task<Void, Never>? {
        defer { changed() }
        return entries.withLock { all in
            var e = all[name] ?? Entry()
            e.inFlight += 1
            e.lastActivity = .now
            e.lastActivityDate = Date()
            all[name] = e
            return e.stopping
        }
    }

    /// Counts a request out (its response ended, or it failed).
    func end(_ name: String) {
        defer { changed() }
        entries.withLock { all in
            guard var e = all[name] else { return }
            e.inFlight = max(0, e.inFlight - 1)
            e.lastActivity = .now
            e.lastActivityDate = Date()
            all[name] = e
        }
    }

    /// Requests in flight for `name`.
    func inFlight(_ name: String) -> Int { entries.withLock { $0[name]?.inFlight ?? 0 } }

    /// When the entry's last request began or ended (nil: none yet).
    func lastActivity(_ name: String) -> ContinuousClock.Instant? { entries.withLock { $0[name]?.lastActivity } }

    /// The idle deadline of an entry with `timeout`: nil while requests are in flight.
    func idleDeadline(_ name: String, timeout: Duration) -> Date? {
        entries.withLock { all in
            let e = all[name] ?? Entry()
            guard e.inFlight == 0 else { return nil }
            return e.lastActivityDate.addingTimeInterval(Self.seconds(timeout))
        }
    }

    /// Claims a stop of `name` when it has no request in flight, no stop under way and, with `idleFor`,
    /// its last activity is at least that old; `stop` then runs in a task that requests arriving meanwhile
    /// wait for. Returns false when the entry is busy (nothing started).
    func claimStop(_ name: String, idleFor: Duration?, _ stop: @escaping @Sendable () async -> Void) -> Bool {
        entries.withLock { all in
            var e = all[name] ?? Entry()
            guard e.inFlight == 0, e.stopping == nil else { return false }
            if let idleFor, ContinuousClock.now - e.lastActivity < idleFor { return false }
            e.stopping = Task {
                await stop()
                self.stopped(name)
            }
            all[name] = e
            return true
        }
    }

    /// The stop under way for `name`, if any.
    func stopping(_ name: String) -> Task<Void, Never>? { entries.withLock { $0[name]?.stopping } }

    private func stopped(_ name: String) {
        defer { changed() }
        entries.withLock { all in
            all[name]?.stopping = nil
            // The idle clock starts again from the stop, not from the last request before it.
            all[name]?.lastActivity = .now
            all[name]?.lastActivityDate = Date()
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
