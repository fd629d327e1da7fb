import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything wrong with a config file on a given node, in the two kinds the agent treats differently.
///
/// - *File errors* (`fileErrors`) reject the whole edit; the last good config stays in force.
/// - *Entry errors* (`entryErrors`) fail only their entry; every other entry is applied.
/// - *Warnings* fail nothing.
public struct ConfigReport: Sendable, Hashable, Codable {
    /// The file checked.
    public var file: String
    /// YAML syntax, unknown fields, wrong types, duplicate names, `modelRef` to no Model, ...
    public var fileErrors: [ConfigError]
    /// Runtime not enabled, format mismatch, model file missing, remote source.
    public var entryErrors: [EntryDiagnostic]
    /// extraArgs repeating a flag the agent sets.
    public var warnings: [EntryDiagnostic]
    /// True when there are neither file nor entry errors.
    public var valid: Bool
    /// Every file checked (folders expanded).
    public var files: [String]?

    /// Checks `bytes` (the content of `file`) against `node`: parses and validates, then resolves
    /// every entry as the agent would (model files are looked up on this machine).
    public static func check(_ bytes: [UInt8], file: String, node: NodeRuntimes) -> ConfigReport {
        check(files: [(file, bytes)], node: node)
    }

    /// Checks several files as one config (`--config` repeated or a folder, already expanded): every
    /// file's errors, then the entries of the files without errors, resolved as the agent would.
    public static func check(files: [(path: String, bytes: [UInt8])], node: NodeRuntimes) -> ConfigReport {
        let file = files.first?.path ?? ""
        let (config, fileErrors) = ConfigLoader.load(files: files)
        if !fileErrors.isEmpty && files.count == 1 {
            return ConfigReport(file: file, fileErrors: fileErrors, entryErrors: [], warnings: [], valid: false)
        }
        let builder = DesiredStateBuilder(node: node)
        let desired = builder.build(config)
        var entryErrors: [EntryDiagnostic] = []
        for entry in desired {
            if case .failed(let diagnostic) = entry.action { entryErrors.append(diagnostic) }
        }
        var report = ConfigReport(
            file: file, fileErrors: fileErrors, entryErrors: entryErrors, warnings: builder.configWarnings(config) + desired.flatMap(\.warnings),
            valid: entryErrors.isEmpty && fileErrors.isEmpty)
        report.files = files.map(\.path)
        return report
    }
}
