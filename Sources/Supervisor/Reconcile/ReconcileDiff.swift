/// The diff at the heart of a reconcile: desired state (the entries of the config in force) against
/// observed state (the controllers running now, by the fingerprint of what each runs). Pure.
///
/// An entry keeps its controller, and so its process, only when it still wants to run with the very
/// same fingerprint (`SpecHash` of its launch description); every other controller stops. An entry
/// that wants to run and has no controller left (new, or changed: its old one is among the stops) gets
/// a new one. Entries that do not run (`replicas: 0`, `suspend`, an entry error) only get a status.
struct ReconcileDiff: Sendable, Equatable {
    /// A controller that stops, and why (for the log).
    struct Stop: Sendable, Equatable {
        var name: String
        var why: Why
    }

    /// Why a controller stops.
    enum Why: String, Sendable, Equatable {
        /// The entry is gone from the config.
        case removed = "removed from config"
        /// The entry changed what it runs.
        case changed = "spec changed"
        /// The entry no longer runs (`replicas: 0`, `suspend`).
        case notRunning = "no longer runs (replicas: 0 or suspend)"
        /// The entry has an entry error now (a model file that went away, say); its status says which.
        case entryError = "entry error (see its status)"
        /// An on-demand entry nobody asks for now (idle, or stopped for another of its group).
        case notRequested = "on demand, not requested"
        /// Its agent-assigned port is now the `spec.port` of another entry: a fixed port wins, and this
        /// entry starts again on a new port (it would otherwise hold the other in PortInUse for good).
        case portTaken = "its agent-assigned port is now another entry's spec.port; it moves to a new port"
        /// Its agent-assigned port was held by another process when it was about to start (a program
        /// outside the agent took it meanwhile): it moves to a free port instead of backing off for good.
        case assignedPortBusy = "its agent-assigned port is held by another process; it moves to a free port"
    }

    /// Controllers to stop, in name order.
    var stops: [Stop]
    /// Names of desired entries that need a new controller, in config order.
    var starts: [String]

    /// Compares `desired` with the running controllers' fingerprints (`running`: name -> specHash).
    /// `parked` names on-demand entries that nobody asks for now: they neither run nor start.
    /// `displaced` names running entries that must move off their agent-assigned port: they stop and
    /// start again.
    init(desired: [DesiredService], running: [String: String], parked: Set<String> = [], displaced: Set<String> = []) {
        // Positions, not copies: a DesiredService is large, and there may be 1,000 of them.
        var wanted: [String: Int] = [:]
        wanted.reserveCapacity(desired.count)
        for (index, entry) in desired.enumerated() where wanted[entry.name] == nil { wanted[entry.name] = index }
        stops = running.keys.sorted().compactMap { name in
            guard let index = wanted[name] else { return Stop(name: name, why: .removed) }
            let entry = desired[index]
            switch entry.action {
            case .failed: return Stop(name: name, why: .entryError)
            case .stopped: return Stop(name: name, why: .notRunning)
            case .run: if entry.specHash != running[name] { return Stop(name: name, why: .changed) }
            }
            if parked.contains(name) { return Stop(name: name, why: .notRequested) }
            return displaced.contains(name) ? Stop(name: name, why: .portTaken) : nil
        }
        let stopping = Set(stops.map(\.name))
        starts = desired.compactMap { entry in
            guard case .run = entry.action, !parked.contains(entry.name),
                running[entry.name] == nil || stopping.contains(entry.name)
            else { return nil }
            return entry.name
        }
    }
}
