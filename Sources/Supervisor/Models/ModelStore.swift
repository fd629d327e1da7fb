import ConfigModel
import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The folder downloaded models live in (`--model-store`), and where each source goes in it.
///
/// A file is keyed by its URL: `<first 16 hex digits of SHA-256(URL)>-<file name>`, so two Models with the
/// same URL share one file, and two URLs ending in the same file name do not collide. A whole Hugging Face
/// repository is a folder keyed the same way by `ENDPOINT/OWNER/REPO@REVISION`.
public struct ModelStore: Sendable, Hashable {
    /// The store folder (absolute).
    public var directory: String

    /// Creates a store in `directory`.
    public init(directory: String) {
        self.directory = directory
    }

    /// The default folder: `$XDG_CACHE_HOME/metal-agent/models`, else `$HOME/.cache/metal-agent/models`
    /// (the XDG Base Directory convention, also what Hugging Face's own cache follows), else
    /// `/tmp/metal-agent-models` when neither variable is set.
    public static func defaultDirectory(environment: [String: String]) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/metal-agent/models" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.cache/metal-agent/models" }
        return "/tmp/metal-agent-models"
    }

    /// Where the file downloaded from `url` lives.
    public func path(forURL url: String) -> String {
        let name = Self.fileName(url)
        return directory + "/" + Self.key(url) + "-" + name
    }

    /// Where a whole repository (`identity`, e.g. `https://huggingface.co/OWNER/REPO@main`) is stored.
    public func folder(forRepository identity: String, name: String) -> String {
        directory + "/" + Self.key(identity) + "-" + Self.safe(name)
    }

    /// The last path component of a URL without query or fragment, made safe for a file name.
    static func fileName(_ url: String) -> String {
        let noQuery = url.prefix { $0 != "?" && $0 != "#" }
        let last = noQuery.split(separator: "/").last.map(String.init) ?? "model"
        return safe(ModelSource.percentDecoded(last) ?? last)
    }

    static func safe(_ name: String) -> String {
        let cleaned = String(name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(120))
        return cleaned.isEmpty || cleaned.allSatisfy({ $0 == "." }) ? "model" : cleaned
    }

    static func key(_ text: String) -> String {
        String(TextFormat.hex(SHA256.hash(data: Data(text.utf8))).prefix(16))
    }
}
