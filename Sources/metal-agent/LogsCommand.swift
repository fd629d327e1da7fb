import ArgumentParser
import ConfigModel
import Supervisor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `metal-agent logs NAME`: an entry's runtime output, from its rotated log files.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print an entry's runtime output (its rotated log files); -f follows it across rotations and restarts.",
        discussion: """
            The log file is the one the status file names for the entry (logFile), else <log-dir>/<name>.log.
            --previous prints the run before the last restart (kept as <name>.previous.log, as kubelet keeps
            a container's previous log).
            Exit status: 0 printed (or followed until interrupted); 1 unknown entry or no log; 2 usage error.
            Examples:
              metal-agent logs chat --config models.yaml --tail 50
              metal-agent logs chat --config models.yaml -f
              metal-agent logs dev/chat --config models.yaml --previous
            """)

    @Argument(help: "The entry's name (namespace/name outside the default namespace).")
    var name: String

    @OptionGroup var location: StatusLocation

    @Option(help: "The agent's --log-dir, when the status file cannot say where the log is.")
    var logDir: String?

    @Flag(name: [.short, .long], help: "Follow: print new output as it is written, across rotations and restarts.")
    var follow = false

    @Option(help: "Only the last N lines (default: all).")
    var tail: Int?

    @Flag(help: "The output of the run before the last restart.")
    var previous = false

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail must be 0 or more") }
        if follow && previous { throw ValidationError("--previous cannot be followed (that run has ended)") }
    }

    func run() async throws {
        let path = try logPath()
        let files = LogFiles(path: path)
        if files.files(previous: previous).isEmpty {
            if previous {
                printError("\(name): no previous run's log (\(files.previousPath)): the entry has not restarted since its log began")
                throw ExitCode(1)
            }
            if !follow {
                printError("\(name): no log yet (\(path))")
                throw ExitCode(1)
            }
        }
        write(files.tail(lines: tail, previous: previous))
        guard follow else { return }
        await LogFollower(path: path).follow { bytes in
            writeStandardOutput(bytes)
        }
    }

    private func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        writeStandardOutput(bytes)
    }

    /// The entry's current log file: from the status file, else from `--log-dir` or the config's default.
    private func logPath() throws -> String {
        let statusPath = location.config == nil && location.statusFile == nil ? nil : try? location.statusPath()
        if let statusPath, let status = try? StatusFile.read(statusPath) {
            if let entry = status.services.first(where: { $0.name == name }), let logFile = entry.logFile {
                return logFile
            }
            if logDir == nil, !status.services.contains(where: { $0.name == name }) {
                printError("\(name): no such entry in \(statusPath) (entries: \(status.services.map(\.name).joined(separator: ", ")))")
                throw ExitCode(1)
            }
        }
        let folder: String
        if let logDir {
            folder = absolutePath(logDir)
        } else if let config = location.config {
            folder = absolutePath(AgentOptions.defaultLogDirectory(forConfig: trimmedFolder(config)))
        } else if let statusPath {
            folder = (statusPath.hasSuffix(".status.json") ? String(statusPath.dropLast(".status.json".count)) : statusPath) + ".logs"
        } else {
            printError("Missing expected argument: --config, --status-file or --log-dir")
            throw ExitCode(2)
        }
        return PathText.join(folder, "\(name).log")
    }
}
