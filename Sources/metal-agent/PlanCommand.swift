import ArgumentParser
import ConfigModel
import Foundation
import Supervisor

/// `metal-agent plan`: what applying a file to the running agent would start, stop, restart or keep.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what applying a config file would do to the running agent (reads its status file).",
        discussion: """
            Exit status: 0 plan shown, 1 the file has file errors (the agent would reject it), 2 usage error
            or no status file.
            Example:
              cp models.yaml /tmp/next.yaml && $EDITOR /tmp/next.yaml
              metal-agent plan --config /tmp/next.yaml --status-file models.status.json
            """)

    @Option(help: "A models.yaml to plan, or a folder of them; repeat for several.")
    var config: [String]

    @Option(help: "The running agent's status file (default: next to the config, models.yaml -> models.status.json).")
    var statusFile: String?

    @Option(help: "text or json.")
    var output: OutputFormat = .text

    func run() throws {
        guard let first = config.first else {
            printError("Missing expected argument '--config <config>'")
            throw ExitCode(2)
        }
        let statusPath = statusFile ?? AgentOptions.defaultStatusPath(forConfig: trimmedFolder(first))
        let status: AgentStatus
        do {
            status = try StatusFile.read(statusPath)
        } catch {
            printError("cannot read the agent's status file \(statusPath): \(error.localizedDescription) (is the agent running? use --status-file)")
            throw ExitCode(2)
        }
        let plan = Plan.make(files: try readConfigFiles(config), against: status)
        switch output {
        case .json:
            try printJSON(plan)
        case .text:
            print(render(plan, statusPath: statusPath))
            for error in plan.fileErrors { printError("\(error)") }
            for warning in plan.warnings { printError("warning: \(warning)") }
        }
        if !plan.fileErrors.isEmpty { throw ExitCode(1) }
    }

    private func render(_ plan: Plan, statusPath: String) -> String {
        var lines = ["plan for \(plan.file) against the running config (generation \(plan.currentGeneration), \(statusPath))"]
        if !plan.fileErrors.isEmpty {
            lines.append("  the agent would reject this file (\(plan.fileErrors.count) file error(s)); nothing would change")
            return lines.joined(separator: "\n")
        }
        let nameWidth = max(8, plan.steps.map(\.service.count).max() ?? 0)
        for step in plan.steps {
            let runtime = step.runtime.map { "\($0) (\(step.runtimeSource ?? "?"))" } ?? "-"
            let action = step.action.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            let name = step.service.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            let head = "  \(action) \(name)  \(runtime.padding(toLength: 24, withPad: " ", startingAt: 0))"
            if step.reasons.isEmpty {
                lines.append(
                    head.trimmingCharacters(in: .whitespaces).isEmpty ? head : head.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression))
            }
            for (i, reason) in step.reasons.enumerated() {
                lines.append(i == 0 ? head + reason : String(repeating: " ", count: head.count) + reason)
            }
        }
        let count = { (a: Plan.Action) in plan.steps.filter { $0.action == a }.count }
        lines.append(
            "summary: \(count(.start)) to start, \(count(.restart)) to restart, \(count(.stop)) to stop, \(count(.keep)) unchanged, \(count(.fail)) failing")
        return lines.joined(separator: "\n")
    }
}
