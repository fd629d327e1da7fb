import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Puts the config together from several files, keeping each file's last good content: a file whose
/// edit is rejected (a file error, or a clash with another file) keeps its previous content in force,
/// and the other files' edits still apply.
///
/// A file that disappears from a watched folder keeps its last good content for `vanishGrace` (editors
/// that save by deleting and re-creating a file, or by moving the old one away first, leave it missing
/// for a moment); only a file still missing after that is taken as removed, with its entries.
struct ConfigAssembler {
    private var lastGood: [String: (bytes: [UInt8], file: ConfigFile)] = [:]
    /// When each file that vanished from a folder was first found missing.
    private var vanishedAt: [String: ContinuousClock.Instant] = [:]
    /// Each file's documents as last read: an edit reads again only the documents it changed.
    private var memos: [String: ConfigLoader.DocumentMemo] = [:]
    /// How long a file that vanished from a folder stays in force (seconds).
    var vanishGrace: Duration = .seconds(2)

    /// The outcome of one read of every file.
    struct Outcome {
        /// The config in force: the accepted content of every file (new where valid, last good where not);
        /// nil while no file has ever been valid.
        var config: AgentConfig?
        /// Every file error of the current content of every file.
        var errors: [ConfigError]
        /// Identifies the content in force: equal outcomes need no new generation.
        var contentKey: [UInt8]
        /// Read again after this long: a vanished file's grace ends then.
        var recheckAfter: Duration?
    }

    /// Reads every file of `paths` (see `ConfigSources.expand`) and assembles the config.
    /// Long on purpose: each file's fate (read, kept from its last good content, vanished within its
    /// grace, rejected) is decided in one pass, in the order of `paths`.
    mutating func assemble(_ paths: [String]) -> Outcome {
        let sources = ConfigSources.expand(paths)
        var errors: [ConfigError] = []
        var candidates: [(path: String, bytes: [UInt8], file: ConfigFile, isNew: Bool)] = []
        var kept: [String: (bytes: [UInt8], file: ConfigFile)] = [:]
        let now = ContinuousClock.now
        var recheckAfter: Duration?
        // Files that were in force and are no longer listed in their folder: kept within the grace.
        let listed = Set(sources.map(\.path))
        for (path, previous) in lastGood where !listed.contains(path) {
            let since = vanishedAt[path] ?? now
            guard now - since < vanishGrace else { continue }
            vanishedAt[path] = since
            candidates.append((path, previous.bytes, previous.file, false))
            let left = vanishGrace - (now - since)
            recheckAfter = min(recheckAfter ?? left, left)
        }
        vanishedAt = vanishedAt.filter { !listed.contains($0.key) && now - $0.value < vanishGrace }
        for source in sources {
            let previous = lastGood[source.path]
            guard let data = FileManager.default.contents(atPath: source.path) else {
                if source.explicit || previous != nil {
                    errors.append(
                        ConfigError(
                            file: source.path, mark: SourceMark(line: 1, column: 1), field: "",
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
                let file = try ConfigLoader.parse(bytes, file: source.path, memo: &memos[source.path, default: ConfigLoader.DocumentMemo()])
                candidates.append((source.path, bytes, file, true))
            } catch {
                errors += error.errors
                if let previous { candidates.append((source.path, previous.bytes, previous.file, false)) }
            }
        }
        var merged = ConfigLoader.merge(candidates.map(\.file))
        if !merged.rejected.isEmpty {
            // A new content that clashes with another file is rejected: that file's last good content stays.
            for (path, fileErrors) in merged.rejected {
                errors += fileErrors
                _ = path
            }
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
        memos = memos.filter { listed.contains($0.key) }
        var key: [UInt8] = []
        for c in candidates { key += Array(c.path.utf8) + [0] + c.bytes + [0] }
        if sources.isEmpty {
            errors.append(
                ConfigError(
                    file: paths.first ?? "", mark: SourceMark(line: 1, column: 1), field: "",
                    message: "no config files: the folder holds no *.yaml or *.yml file"))
        }
        let anyEver = !candidates.isEmpty
        return Outcome(
            config: anyEver ? merged.config : nil, errors: errors.sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) },
            contentKey: key, recheckAfter: recheckAfter)
    }
}
