import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The config files named by `--config` (repeatable): files as given, folders read as `kubectl apply -f
/// DIR` reads them (every `*.yaml` and `*.yml` directly inside, in name order; hidden files and
/// sub-folders are skipped).
public enum ConfigSources {
    /// One file to read, and whether `--config` named it itself (then a missing file is an error) or a
    /// folder holds it (then a removed file simply leaves the config).
    public struct Source: Sendable, Hashable {
        /// Absolute path of the file.
        public var path: String
        /// True when `--config` named the file itself.
        public var explicit: Bool
    }

    /// True when `path` is a folder.
    public static func isFolder(_ path: String) -> Bool {
        FileKind.of(path).isFolder
    }

    /// The files `paths` stand for, in order, each once.
    public static func expand(_ paths: [String]) -> [Source] {
        var seen: Set<String> = []
        var result: [Source] = []
        for path in paths {
            if isFolder(path) {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                for name in names.sorted() where !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) {
                    let file = PathText.join(path, name)
                    guard !isFolder(file), seen.insert(file).inserted else { continue }
                    result.append(Source(path: file, explicit: false))
                }
            } else if seen.insert(path).inserted {
                result.append(Source(path: path, explicit: true))
            }
        }
        return result
    }
}
