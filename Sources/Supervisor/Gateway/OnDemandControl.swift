/// The narrow interface through which the gateway starts and stops on-demand entries; the agent
/// implements it. Both calls are quick: a start asks for a reconcile and returns (the gateway then waits
/// for Ready in the status); a stop returns once the entry's process group is gone.
public protocol OnDemandControl: Sendable {
    /// Marks an on-demand entry wanted and has the agent start it; nothing for an entry that runs already
    /// or is not on demand.
    /// - Parameter cause: for the log line (`request for model "x"`).
    func startOnDemand(_ name: String, cause: String) async

    /// Stops an on-demand entry and waits until its process group is gone; its status then shows phase
    /// `Stopped` with `reason` (`Idle`, `ExclusiveGroup`, `MemoryReclaimed`).
    func stopOnDemand(_ name: String, reason: Reason, message: String) async
}
