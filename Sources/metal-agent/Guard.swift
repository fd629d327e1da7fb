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

/// `metal-agent guard`: internal. Runs `metal-agent-guard` (installed beside this binary) with the same
/// arguments; the agent starts each runtime through it (Linux). See `Sources/metal-agent-guard/main.c`.
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
        guard let path = RuntimeGuardBinary.path() else {
            printError("metal-agent guard: \(RuntimeGuardBinary.missingMessage)")
            throw ExitCode(127)
        }
        let arguments = ["metal-agent", "guard", "--grace-seconds", String(graceSeconds), "--"] + command
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv(path, argv)
        printError("metal-agent guard: cannot execute \(path): \(String(cString: strerror(errno)))")
        throw ExitCode(127)
    }
}
