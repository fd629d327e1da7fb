import ArgumentParser
import CBuildInfo

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `metal-agent`: supervises local LLM inference servers described by a `models.yaml`.
@main
struct MetalAgent: AsyncParsableCommand {
    static let version = "0.1.0"
    /// The git commit this binary was built from (`unknown` unless built by `scripts/build-release`).
    static let commit = String(cString: metal_agent_git_commit())

    static let configuration = CommandConfiguration(
        commandName: "metal-agent",
        abstract: "Supervise local LLM inference servers (llama-server, mlx-server) from a models.yaml.",
        discussion: """
            Each InferenceService entry picks its runtime with spec.runtime; entries without one use --runtime.
            Exit status: 0 success, 1 invalid config (validate, plan), 2 usage error; status: 3 not every entry Ready.
            Examples:
              metal-agent --config models.yaml
              metal-agent status --config models.yaml
              metal-agent logs chat --config models.yaml -f
              metal-agent run --config models.yaml --runtime mlx-server --log-dir /var/log/metal-agent
              metal-agent validate --config models.yaml
              metal-agent plan --config next.yaml --status-file models.status.json
            """,
        version: "\(version) (commit \(commit))",
        subcommands: [Run.self, Validate.self, PlanCommand.self, StatusCommand.self, WaitCommand.self, LogsCommand.self, Guard.self],
        defaultSubcommand: Run.self
    )

    /// Like ArgumentParser's `main`, but usage errors exit 2 (the Unix convention) instead of 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                printError(fullMessage(for: error))
                terminate(2)
            }
            exit(withError: error)
        }
    }
}
