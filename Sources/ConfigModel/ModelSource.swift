#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a model's weights live (`Model.spec.source`), as typed by `ModelSource.parse`.
///
/// Parsing is pure: nothing is read from disk or the environment. `~/` paths stay `.home` until the agent,
/// which knows its user's `HOME`, resolves them; URLs are fetched by the agent's model store.
public enum ModelSource: Sendable, Hashable {
    /// A local file or folder: an absolute path (relative paths and `file://` URLs are already resolved).
    case path(String)
    /// `~/REST`: `REST` under the agent user's home folder (`HOME`), resolved when the agent applies the entry.
    case home(String)
    /// An `http://` or `https://` URL the agent downloads into its model store.
    case http(String)
    /// `hf://OWNER/REPO[/PATH][@REVISION]`: a file (or, without a path, a whole repository) on a Hugging Face hub.
    case huggingFace(HuggingFaceSource)
    /// A URL scheme the agent does not fetch (`pvc://`, `s3://`, ...): entries using it fail with `UnsupportedModelSource`.
    case remote(String)

    /// The source as the user wrote it, or the resolved path for local sources (for logs and `plan`).
    public var display: String {
        switch self {
        case .path(let p): p
        case .home(let rest): "~/" + rest
        case .http(let url): url
        case .huggingFace(let hf): hf.description
        case .remote(let url): url
        }
    }

    /// Why `spec.source` text cannot be read; the message goes after the field in a config error.
    public struct ParseError: Error, Sendable, Hashable {
        /// A sentence: what was expected and what was found.
        public var message: String
    }

    /// Reads `spec.source`.
    ///
    /// Forms: an absolute path; a path relative to `folder` (the config file's folder); `~/REST` (the agent
    /// user's home); `file:` URLs per RFC 8089 (`file:///abs/path`, `file://localhost/abs/path`, `file:/abs/path`;
    /// percent-escapes decoded; any other host is an error, since the agent reads only this node's files);
    /// `http://` and `https://` URLs; `hf://OWNER/REPO[/PATH][@REVISION]`. Any other `SCHEME://` is kept as `.remote` (an entry error later).
    /// - Parameters:
    ///   - text: the field's value, not empty.
    ///   - folder: absolute folder of the config file.
    /// - Throws: `ParseError` for a malformed `file:` or `hf://` URL, or `~user/` (another user's home).
    public static func parse(_ text: String, folder: String) throws(ParseError) -> ModelSource {
        if let scheme = scheme(of: text) {
            switch scheme.lowercased() {
            case "file": return .path(try fileURLPath(text))
            case "http", "https":
                let rest = text.drop { $0 != ":" }.dropFirst(3)
                guard let host = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first, !host.isEmpty else {
                    throw ParseError(message: "\(scheme) URL \"\(text)\" has no host")
                }
                return .http(text)
            case "hf": return .huggingFace(try HuggingFaceSource.parse(text))
            default: return .remote(text)
            }
        }
        if text == "~" { return .home("") }
        if text.hasPrefix("~/") { return .home(String(text.dropFirst(2))) }
        if text.hasPrefix("~") {
            throw ParseError(message: "\"\(text)\": only ~/ (the agent user's own home) is supported, not ~user/; write an absolute path")
        }
        return .path(text.hasPrefix("/") ? text : join(folder, text))
    }

    /// The scheme of `SCHEME:` text when it is a URL (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`),
    /// or nil for a path. `file:` is a URL even without `//`; other schemes need `://`.
    static func scheme(of text: String) -> String? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") })
        else { return nil }
        if scheme.lowercased() == "file" { return String(scheme) }
        return text[colon...].hasPrefix("://") ? String(scheme) : nil
    }

    /// The local path of a `file:` URL (RFC 8089 section 2 and appendix B's `file:/path`), percent-decoded.
    static func fileURLPath(_ text: String) throws(ParseError) -> String {
        var rest = Substring(text.drop { $0 != ":" }.dropFirst())
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let host = rest.prefix { $0 != "/" }
            guard host.isEmpty || host.lowercased() == "localhost" else {
                throw ParseError(
                    message: "file URL \"\(text)\" names host \"\(host)\"; only an empty host or localhost (this node) can be read: write file:///path")
            }
            rest = rest.dropFirst(host.count)
        }
        guard rest.hasPrefix("/") else {
            throw ParseError(message: "file URL \"\(text)\" has no absolute path; write file:///absolute/path")
        }
        if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            throw ParseError(
                message:
                    "file URL \"\(text)\" has a \(rest[cut] == "?" ? "query" : "fragment"); write the path only (a literal \(rest[cut]) is %\(rest[cut] == "?" ? "3F" : "23"))"
            )
        }
        guard let path = percentDecode(rest) else {
            throw ParseError(message: "file URL \"\(text)\" has a malformed percent-escape (expected % and two hex digits, encoding UTF-8)")
        }
        guard !path.contains("\0") else { throw ParseError(message: "file URL \"\(text)\" decodes to a path with a NUL byte") }
        return path
    }

    /// Decodes `%XX` escapes (RFC 3986 percent-encoding); nil when one is malformed or the bytes are not UTF-8.
    public static func percentDecoded(_ text: String) -> String? { percentDecode(text[...]) }

    /// Decodes `%XX` escapes; nil when one is malformed or the bytes are not UTF-8.
    static func percentDecode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let b = utf8.popFirst() {
            if b == UInt8(ascii: "%") {
                guard let h = utf8.popFirst(), let l = utf8.popFirst(), let hi = hex(h), let lo = hex(l) else { return nil }
                bytes.append(hi << 4 | lo)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }

    static func join(_ folder: String, _ path: String) -> String {
        // Lexically: `./` and `a/../` go (the config's folder is absolute, so the result is too).
        TextFormat.normalizedPath((folder.hasSuffix("/") ? folder : folder + "/") + path)
    }
}
