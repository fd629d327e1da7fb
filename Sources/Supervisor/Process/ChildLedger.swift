import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// The agent's record of the runtime process groups it started, kept in a small JSON file so that an
/// agent that was killed (SIGKILL, OOM, power of a `systemctl kill`) can be cleaned up after: the next
/// agent reads the file at start and stops every group whose leader is still the same process
/// (`ProcessIdentity`: pid, start time and boot id), never a stranger that reused the pid.
///
/// File: `<status file without .status.json>.children.json`, written atomically on every change, at
/// once unless the last write is less than `burstInterval` old; changes within it are written
/// together at its end (1,000 starts wrote the whole file 1,000 times). A runtime recorded a few
/// milliseconds late is still stopped by its guard if the agent dies meanwhile.
public actor ChildLedger {
    /// One recorded runtime.
    public struct Entry: Sendable, Hashable, Codable {
        /// InferenceService name.
        public var service: String
        /// Leader (and process group) identity.
        public var process: ProcessIdentity
        /// Whether the leader is a runtime guard (`metal-agent-guard`), which stops its runtime itself on SIGTERM.
        public var guarded: Bool

        /// Creates an entry.
        public init(service: String, process: ProcessIdentity, guarded: Bool) {
            self.service = service
            self.process = process
            self.guarded = guarded
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            service = try c.decode(String.self, forKey: .service)
            process = try c.decode(ProcessIdentity.self, forKey: .process)
            guarded = try c.decodeIfPresent(Bool.self, forKey: .guarded) ?? false
        }
    }

    private let path: String
    private let logger: Logger
    private var entries: [Int32: Entry] = [:]
    /// Each entry's JSON, encoded once when it is recorded: a write with 1,000 runtimes joins bytes
    /// instead of encoding 1,000 entries (every start and stop of an entry writes the file).
    private var encoded: [Int32: Data] = [:]
    /// Shortest time between two writes of the file.
    static let burstInterval: Duration = .milliseconds(50)
    private var lastWrite: ContinuousClock.Instant?
    private var writeScheduled = false
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// - Parameter path: the ledger file.
    public init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// Every process group recorded now: its leader's pid, and whether that is a guard.
    var groups: [Entry] { Array(entries.values) }

    /// Records a runtime the agent just started.
    func started(_ service: String, pid: Int32, guarded: Bool) {
        guard let identity = ProcessIdentity.current(pid: pid) else { return }
        let entry = Entry(service: service, process: identity, guarded: guarded)
        entries[pid] = entry
        encoded[pid] = try? encoder.encode(entry)
        write()
    }

    /// Forgets a runtime whose process group is gone.
    func ended(pid: Int32) {
        guard entries.removeValue(forKey: pid) != nil else { return }
        encoded[pid] = nil
        write()
    }

    private func write() {
        let now = ContinuousClock.now
        if let lastWrite, now - lastWrite < Self.burstInterval {
            guard !writeScheduled else { return }
            writeScheduled = true
            Task {
                try? await Task.sleep(until: lastWrite + Self.burstInterval)
                self.flush()
            }
            return
        }
        writeNow()
    }

    /// Writes pending changes now (the agent calls it once every entry has stopped).
    func flush() {
        writeScheduled = false
        writeNow()
    }

    private func writeNow() {
        lastWrite = .now
        // A JSON array of the entries by pid, one per line.
        var data = Data("[".utf8)
        for (index, pid) in encoded.keys.sorted().enumerated() {
            data.append(contentsOf: index == 0 ? Array("\n".utf8) : Array(",\n".utf8))
            data.append(encoded[pid]!)
        }
        data.append(contentsOf: Array("\n]\n".utf8))
        do {
            try AtomicFile.write(data, to: path)  // re-creates a deleted folder, leaves no temporary file
        } catch {
            logger.error("cannot write the child ledger", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    /// Stops the runtimes a previous agent left behind, then clears the ledger.
    ///
    /// Each recorded group whose leader is still the recorded process gets SIGTERM (a guard: only the
    /// guard, which passes it on), up to `grace` to
    /// exit, then SIGKILL. Records whose pid is gone or belongs to another process are dropped untouched.
    /// - Returns: the entries that were stopped.
    @discardableResult
    public func stopLeftovers(grace: Duration) async -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path),
            let recorded = try? JSONDecoder().decode([Entry].self, from: data)
        else { return [] }
        let alive = recorded.filter { $0.process.isStillRunning }
        for entry in alive {
            logger.warning(
                "stopping a runtime left by a previous agent",
                metadata: [
                    "service": "\(entry.service)", "pid": "\(entry.process.pid)",
                ])
            // A guard passes SIGTERM on to everything under it, helpers outside the group included. The
            // guard is signalled by identity (never a stranger that took its pid since the check above).
            if entry.guarded {
                entry.process.signal(SIGTERM)
            } else if entry.process.isStillRunning {
                _ = killpg(entry.process.pid, SIGTERM)
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        while clock.now < deadline, alive.contains(where: { $0.process.isStillRunning }) {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for entry in recorded {
            // SIGKILL the group when the leader's pid is held by the recorded process (running or a
            // zombie) or by nobody: then any member of the group is a helper the old runtime left (a
            // group id cannot be reused while a member lives). A process with that pid that is not the
            // recorded one is a stranger: its group is left alone.
            let pid = entry.process.pid
            if entry.guarded {
                // If the guard is still inside its grace period: take its whole tree, helpers that left the
                // group included (they would go to init once the guard is gone). Each process is signalled
                // by identity, so one that exited meanwhile and whose pid was reused is not touched.
                ProcessTree.signal(treeOf: entry.process, SIGKILL, includingRoot: true)
            }
            // Checked again right before the signal: a stranger that took the pid since is left alone (the
            // group id can only be reused once no member of the old group is left).
            if entry.process.pidIsNotAStranger {
                _ = killpg(pid, SIGKILL)
            }
        }
        entries = [:]
        encoded = [:]
        write()
        return alive
    }
}
