import ArgumentParser
import ConfigModel
import Supervisor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `metal-agent validate`: checks a config file against this node without running anything.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a models.yaml: file errors and entry errors, as the agent on this node would see them.",
        discussion: """
            Exit status: 0 valid (warnings allowed), 1 file or entry errors, 2 usage error.
            Errors go to stderr as file:line:column: field: message; --output json prints a report on stdout.
            Example:
              metal-agent validate --config models.yaml --mlx-server-bin ~/venv/bin/mlx_lm.server
            """)

    @Option(help: "A models.yaml to check, or a folder of them; repeat for several (checked together, as the agent reads them).")
    var config: [String]

    @OptionGroup var node: NodeOptions

    @Option(help: "text or json.")
    var output: OutputFormat = .text

    func run() throws {
        guard !config.isEmpty else {
            printError("Missing expected argument '--config <config>'")
            throw ExitCode(2)
        }
        let files = try readConfigFiles(config)
        var runtimes = try node.resolve()
        // An agent started with its defaults listens on these: entries that name them would give way.
        if let gateway = try? GatewayOptions.parseListen(GatewayFlags.defaultListen) {
            runtimes.reservedPorts[gateway.port] = "the agent's gateway with its default --gateway-listen \(GatewayFlags.defaultListen)"
        }
        if case .address(_, let port) = ListenAddress.standard {
            runtimes.reservedPorts[port] = "the agent's operator endpoint with its default --listen \(ListenAddress.standard)"
        }
        let report = ConfigReport.check(files: files, node: runtimes)
        let config = self.config.joined(separator: ", ")
        switch output {
        case .json:
            try printJSON(report)
        case .text:
            for error in report.fileErrors { printError("\(error)") }
            for error in report.entryErrors { printError("\(error)") }
            for warning in report.warnings { printError("warning: \(warning)") }
            if report.valid {
                print("\(config): valid")
            } else if !report.fileErrors.isEmpty {
                printError("\(config): \(report.fileErrors.count) file error(s): the agent would reject this edit and keep its last good config")
                if !report.entryErrors.isEmpty {
                    printError("\(config): \(report.entryErrors.count) entry error(s) in the other files: those entries would fail")
                }
            } else {
                printError("\(config): \(report.entryErrors.count) entry error(s): those entries would fail, the others would run")
            }
        }
        if !report.valid { throw ExitCode(1) }
    }
}
