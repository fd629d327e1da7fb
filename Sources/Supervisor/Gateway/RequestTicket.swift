import Synchronization

/// One request's share of its entry's traffic: counted in when created, out exactly once by `finish()`
/// (the response body ended, or the request failed before it had one) or, as a last resort, when the
/// ticket is dropped. Gives back the request's share of an exclusive group's turn too.
final class RequestTicket: Sendable {
    let route: GatewayRoute
    /// A stop of the entry under way when the request arrived; the request waits for it first.
    let pendingStop: Task<Void, Never>?
    private let traffic: GatewayTraffic
    private let groups: ExclusiveGroups
    private let state = Mutex<(finished: Bool, group: String?)>((false, nil))

    init(route: GatewayRoute, traffic: GatewayTraffic, groups: ExclusiveGroups) {
        self.route = route
        self.traffic = traffic
        self.groups = groups
        self.pendingStop = traffic.begin(route.name)
    }

    /// Records that the request holds a share of `group`'s turn, given back by `finish()`.
    func holdsGroup(_ group: String) {
        state.withLock { $0.group = group }
    }

    /// Counts the request out (once).
    func finish() {
        let group: String?? = state.withLock { s in
            if s.finished { return nil }
            s.finished = true
            return .some(s.group)
        }
        guard let group else { return }
        traffic.end(route.name)
        if let group {
            let groups = self.groups
            Task { await groups.release(group) }
        }
    }

    deinit { finish() }
}
