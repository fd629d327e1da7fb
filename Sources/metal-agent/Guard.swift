import ArgumentParser
import Supervisor

/// `metal-agent guard`: internal. The agent starts each runtime through it (Linux); see `RuntimeGuard`.
struct Guard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard",
        abstract: "Internal: run one runtime so that it never outlives the agent (Linux).",
        shouldDisplay: false)

    @Option(name: .customLong("grace-seconds"), help: "Seconds between SIGTERM and SIGKILL when stopping.")
    var graceSeconds: Double = 30

    @Argument(parsing: .postTerminator, help: "The runtime's executable and arguments, after --.")
    var command: [String] = []

    func run() throws {
        RuntimeGuard.run(graceSeconds: graceSeconds, command: command)
    }
}
