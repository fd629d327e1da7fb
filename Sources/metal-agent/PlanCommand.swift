import ArgumentParser
import ConfigModel
import Supervisor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
            printError("cannot read the agent's status file \(statusPath): \(describeReadError(error)) (is the agent running? use --status-file)")
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
            let head = "  \(step.action.rawValue.padded(to: 8)) \(step.service.padded(to: nameWidth))  \(runtime.padded(to: 24))"
            if step.reasons.isEmpty {
                let end = head.lastIndex(where: { !$0.isWhitespace }).map(head.index(after:))
                lines.append(end.map { String(head[..<$0]) } ?? head)
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
