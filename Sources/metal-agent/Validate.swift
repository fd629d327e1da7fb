import ArgumentParser
import ConfigModel
import Foundation

/// `metal-agent validate`: checks a config file without running anything.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a models.yaml: exit 0 when valid, 1 when not (errors on stderr as file:line:column: field: message).")

    @Option(help: "The models.yaml to check.")
    var config: String

    func run() throws {
        guard let data = FileManager.default.contents(atPath: config) else {
            FileHandle.standardError.write(Data("\(config): cannot read the file\n".utf8))
            throw ExitCode(1)
        }
        do {
            let loaded = try ConfigLoader.load([UInt8](data), file: config)
            print("\(config): valid: \(loaded.models.count) Model(s), \(loaded.services.count) InferenceService(s)")
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
