import ArgumentParser
import Supervisor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// `metal-agent status`: one screen of every entry's state, from the running agent's status file.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every entry's phase, readiness, restarts and port, from the agent's status file.",
        discussion: """
            A RUNTIME marked * came from the agent's --runtime default (the entry has no spec.runtime).
            Exit status: 0 every entry that should run is Ready; 3 some are not; 1 no status file, or the
            agent that wrote it is not running (its lock is free: the file is stale); 2 usage error.
            Examples:
              metal-agent status --config models.yaml
              metal-agent status --status-file /srv/models/models.status.json -o wide
              metal-agent status --config models.yaml --watch
            """)

    /// `-o` values.
    enum Format: String, ExpressibleByArgument, CaseIterable { case table, wide, json, yaml }

    @OptionGroup var location: StatusLocation

    @Option(name: [.short, .customLong("output")], help: "table, wide, json or yaml.")
    var output: Format = .table

    @Flag(name: [.short, .long], help: "Redraw on every change of the status file (until interrupted).")
    var watch = false

    func run() async throws {
        let path = try location.statusPath()
        guard watch else {
            throw ExitCode(show(path))
        }
        let changes = try StatusFileChanges(path: path)
        var lastPresence: AgentPresence?
        var first = true
        for await reason in changes.events {
            let presence = AgentPresence.check(statusPath: path)
            if reason == .presence, presence == lastPresence { continue }
            lastPresence = presence
            if !first, isatty(STDOUT_FILENO) != 0 { print("\u{1B}[H\u{1B}[2J", terminator: "") } else if !first { print("") }
            first = false
            _ = show(path)
            fflush(nil)  // each table whole, at once, also into a pipe or file
        }
    }

    /// Prints the status once; returns the exit code it calls for.
    private func show(_ path: String) -> Int32 {
        let data: Data
        let status: AgentStatus
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
            status = try JSONDecoder().decode(AgentStatus.self, from: data)
        } catch {
            printError("no readable status file \(path): \(StatusCommand.describe(error)) (is the agent running? use --config or --status-file)")
            return 1
        }
        let presence = AgentPresence.check(statusPath: path)
        switch output {
        case .table, .wide:
            print(StatusTable(status: status, presence: presence, wide: output == .wide).render(), terminator: "")
        case .json:
            writeStandardOutput(data)
        case .yaml:
            print((try? YAMLRenderer.render(status)) ?? "", terminator: "")
        }
        if case .gone = presence {
            printError("the agent that wrote \(path) is not running (lock \(path).lock not held): this status is stale")
            return 1
        }
        let verdict = StatusVerdict(status)
        if !verdict.allReady, output == .json || output == .yaml {
            printError("not ready: \(verdict.configApplied ? verdict.notReady.joined(separator: ", ") : "no config applied yet")")
        }
        return verdict.allReady ? 0 : 3
    }

    static func describe(_ error: any Error) -> String { describeReadError(error) }
}
