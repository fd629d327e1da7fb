#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turn-taking within exclusive groups (`metal-agent.llmkube.dev/exclusiveGroup`): one member of a group
/// holds the turn at a time; requests for it go ahead together. A request for another member queues;
/// once the holder's requests in flight have all ended, the turn passes to the first queued member, and
/// the previous holder is stopped (the process group gone) before any queued request goes ahead. While a
/// request is queued, new requests for the holder queue too, so a busy member cannot starve the others.
actor ExclusiveGroups {
    private struct Waiter {
        var id: UUID
        var member: String
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct Group {
        var holder: String?
        /// Requests of the holder that went ahead and have not ended.
        var users = 0
        var switching = false
        var queue: [Waiter] = []
    }

    private var groups: [String: Group] = [:]
    /// Stops the previous holder of a group; returns once it is gone.
    private let stop: @Sendable (_ previous: String, _ next: String) async -> Void

    init(stop: @escaping @Sendable (_ previous: String, _ next: String) async -> Void) {
        self.stop = stop
    }

    /// Waits for `member`'s turn in `group`, at most `wait`. Returns false when the wait ran out (nothing
    /// is held then); true: the caller holds a share of the turn and must `release` it.
    func acquire(_ group: String, member: String, wait: Duration) async -> Bool {
        var g = groups[group] ?? Group()
        if g.holder == nil || (g.holder == member && g.queue.isEmpty && !g.switching) {
            g.holder = member
            g.users += 1
            groups[group] = g
            return true
        }
        let id = UUID()
        let timer = Task {
            try? await Task.sleep(for: wait)
            self.expire(group, id)
        }
        let granted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            groups[group, default: Group()].queue.append(Waiter(id: id, member: member, continuation: continuation))
            // The holder may have no request in flight: the turn passes at once.
            handOver(group)
        }
        timer.cancel()
        return granted
    }

    /// Ends one request's share of the turn; the last one passes the turn on when someone waits.
    func release(_ group: String) {
        guard var g = groups[group] else { return }
        g.users = max(0, g.users - 1)
        groups[group] = g
        handOver(group)
    }

    /// Requests waiting for a turn in `group`.
    func queued(in group: String) -> Int { groups[group]?.queue.count ?? 0 }

    /// The member holding the turn of `group`.
    func holder(of group: String) -> String? { groups[group]?.holder }

    private func handOver(_ group: String) {
        guard var g = groups[group], g.users == 0, !g.switching, let next = g.queue.first?.member else { return }
        let previous = g.holder
        if previous == next || previous == nil {
            g.holder = next
            groups[group] = g
            admit(group)
            return
        }
        g.holder = next
        g.switching = true
        groups[group] = g
        let stop = self.stop
        Task {
            if let previous { await stop(previous, next) }
            self.switched(group)
        }
    }

    private func switched(_ group: String) {
        groups[group]?.switching = false
        admit(group)
    }

    /// Lets every queued request for the holder go ahead.
    private func admit(_ group: String) {
        guard var g = groups[group], let holder = g.holder else { return }
        let going = g.queue.filter { $0.member == holder }
        g.queue.removeAll { $0.member == holder }
        g.users += going.count
        groups[group] = g
        for waiter in going { waiter.continuation.resume(returning: true) }
        // Nobody went ahead (they all gave up meanwhile): the next queued member may take the turn.
        if going.isEmpty { handOver(group) }
    }

    private func expire(_ group: String, _ id: UUID) {
        guard var g = groups[group], let index = g.queue.firstIndex(where: { $0.id == id }) else { return }
        let waiter = g.queue.remove(at: index)
        groups[group] = g
        waiter.continuation.resume(returning: false)
        handOver(group)
    }
}
