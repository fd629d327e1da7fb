import ArgumentParser
import Supervisor

/// `--config` / `--status-file`: where `status`, `wait` and `logs` find the agent's status file, as `plan` does.
struct StatusLocation: ParsableArguments {
    @Option(help: "The agent's models.yaml (or folder); its status file is found beside it (models.yaml -> models.status.json).")
    var config: String?

    @Option(help: "The agent's status file (overrides --config).")
    var statusFile: String?

    /// The status file's absolute path.
    /// - Throws: `ExitCode(2)` (with a message) when neither option is given.
    func statusPath() throws -> String {
        if let statusFile { return absolutePath(statusFile) }
        guard let config else {
            printError("Missing expected argument: --config <config> or --status-file <status-file>")
            throw ExitCode(2)
        }
        return absolutePath(AgentOptions.defaultStatusPath(forConfig: trimmedFolder(config)))
    }
}
