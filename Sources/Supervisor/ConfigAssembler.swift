import ConfigModel
import Foundation

/// Puts the config together from several files, keeping each file's last good content: a file whose
/// edit is rejected (a file error, or a clash with another file) keeps its previous content in force,
/// and the other files' edits still apply.
struct ConfigAssembler {
    private var lastGood: [String: (bytes: [UInt8], file: ConfigFile)] = [:]

    /// The outcome of one read of every file.
    struct Outcome {
        /// The config in force: the accepted content of every file (new where valid, last good where not);
        /// nil while no file has ever been valid.
        var config: AgentConfig?
        /// Every file error of the current content of every file.
        var errors: [ConfigError]
        /// Identifies the content in force: equal outcomes need no new generation.
        var contentKey: [UInt8]
    }

    /// Reads every file of `paths` (see `ConfigSources.expand`) and assembles the config.
    mutating func assemble(_ paths: [String]) -> Outcome {
        let sources = ConfigSources.expand(paths)
        var errors: [ConfigError] = []
        var candidates: [(path: String, bytes: [UInt8], file: ConfigFile, isNew: Bool)] = []
        var kept: [String: (bytes: [UInt8], file: ConfigFile)] = [:]
        for source in sources {
            let previous = lastGood[source.path]
            guard let data = FileManager.default.contents(atPath: source.path) else {
                if source.explicit || previous != nil {
                    errors.append(ConfigError(file: source.path, mark: SourceMark(line: 1, column: 1), field: "",
                                              message: "cannot read the config file (missing or unreadable)"))
                }
                // An explicitly named file that vanished is a bad edit: its last good content stays.
                if source.explicit, let previous { candidates.append((source.path, previous.bytes, previous.file, false)) }
                continue
            }
            let bytes = [UInt8](data)
            if let previous, previous.bytes == bytes {
                candidates.append((source.path, bytes, previous.file, false))
                continue
            }
            do {
                let file = try ConfigLoader.parse(bytes, file: source.path)
                candidates.append((source.path, bytes, file, true))
            } catch {
                errors += error.errors
                if let previous { candidates.append((source.path, previous.bytes, previous.file, false)) }
            }
        }
        var merged = ConfigLoader.merge(candidates.map(\.file))
        if !merged.rejected.isEmpty {
            // A new content that clashes with another file is rejected: that file's last good content stays.
            for (path, fileErrors) in merged.rejected { errors += fileErrors; _ = path }
            candidates = candidates.compactMap { c in
                guard merged.rejected[c.path] != nil else { return c }
                guard c.isNew, let previous = lastGood[c.path] else { return nil }
                return (c.path, previous.bytes, previous.file, false)
            }
            merged = ConfigLoader.merge(candidates.map(\.file))
            candidates.removeAll { merged.rejected[$0.path] != nil }
        }
        for c in candidates { kept[c.path] = (c.bytes, c.file) }
        lastGood = kept
        var key: [UInt8] = []
        for c in candidates { key += Array(c.path.utf8) + [0] + c.bytes + [0] }
        if sources.isEmpty {
            errors.append(ConfigError(file: paths.first ?? "", mark: SourceMark(line: 1, column: 1), field: "",
                                      message: "no config files: the folder holds no *.yaml or *.yml file"))
        }
        let anyEver = !candidates.isEmpty
        return Outcome(config: anyEver ? merged.config : nil, errors: errors.sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) }, contentKey: key)
    }
}
