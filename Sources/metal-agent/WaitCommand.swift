import ArgumentParser
import Supervisor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `metal-agent wait --for=ready`: blocks until entries are Ready, for scripts.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until every entry that should run (or the named ones) is Ready.",
        discussion: """
            Watches the status file (inotify) and the agent's lock. The agent need not be running yet: a
            status file or lock that appears later counts.
            Exit status: 0 ready; 1 not ready within --timeout (what is not ready goes to stderr); 2 usage error.
            Examples:
              metal-agent wait --for=ready --config models.yaml --timeout 5m
              metal-agent wait --for=ready chat embed --status-file /srv/models/models.status.json
            """)

    /// `--for` values.
    enum Condition: String, ExpressibleByArgument, CaseIterable { case ready }

    @Option(name: .customLong("for"), help: "The condition: ready.")
    var condition: Condition

    @Argument(help: "Entry names (namespace/name outside default); none: every entry that should run.")
    var names: [String] = []

    @OptionGroup var location: StatusLocation

    @Option(help: "Give up after this long (500ms, 30s, 5m, 1h).")
    var timeout: DurationArgument = DurationArgument(argument: "5m")!

    func run() async throws {
        let path = try location.statusPath()
        let names = self.names
        let changes = try StatusFileChanges(path: path)
        let outcome = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                for await _ in changes.events {
                    if case .running = AgentPresence.check(statusPath: path), let status = try? StatusFile.read(path),
                        StatusVerdict(status, names: names).allReady
                    {
                        return nil
                    }
                }
                return "cancelled"
            }
            let timeout = self.timeout.duration
            group.addTask {
                try? await Task.sleep(for: timeout)
                return "timed out"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            changes.stop()
            return first
        }
        guard let outcome else { return }
        let detail: String
        if case .gone = AgentPresence.check(statusPath: path) {
            detail = "the agent is not running (lock \(path).lock not held)"
        } else if let status = try? StatusFile.read(path) {
            let verdict = StatusVerdict(status, names: names)
            if !verdict.configApplied {
                detail = "no config applied yet"
            } else if !verdict.missing.isEmpty {
                // As `kubectl wait` on a name that does not exist: say so, with the names there are.
                let notReady = verdict.notReady.filter { !verdict.missing.contains($0) }
                detail =
                    (notReady.isEmpty ? "" : "not ready: \(notReady.joined(separator: ", ")); ")
                    + "no entry named \(verdict.missing.joined(separator: ", ")) in the running config (generation \(status.config.generation); entries: \(status.services.map(\.name).joined(separator: ", ")))"
            } else {
                detail = "not ready: \(verdict.notReady.joined(separator: ", "))"
            }
        } else {
            detail = "no readable status file \(path)"
        }
        printError("\(outcome) after \(timeout.duration): \(detail)")
        throw ExitCode(1)
    }
}
