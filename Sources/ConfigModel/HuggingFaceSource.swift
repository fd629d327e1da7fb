/// A Hugging Face hub source: `hf://OWNER/REPO[/PATH][@REVISION]`.
///
/// Resolved by the agent to `ENDPOINT/OWNER/REPO/resolve/REVISION/PATH` (the hub's download URL, as
/// `huggingface_hub.hf_hub_url` builds it), with `ENDPOINT` from `HF_ENDPOINT` (default `https://huggingface.co`).
public struct HuggingFaceSource: Sendable, Hashable, CustomStringConvertible {
    /// The user or organisation.
    public var owner: String
    /// The model repository.
    public var repo: String
    /// A file in the repository, or nil for the whole repository (an MLX model folder).
    public var path: String?
    /// Branch, tag or commit; `main` when not written.
    public var revision: String

    /// Creates a source.
    public init(owner: String, repo: String, path: String?, revision: String = "main") {
        self.owner = owner
        self.repo = repo
        self.path = path
        self.revision = revision
    }

    /// `hf://OWNER/REPO[/PATH]@REVISION`.
    public var description: String {
        "hf://\(owner)/\(repo)" + (path.map { "/" + $0 } ?? "") + "@\(revision)"
    }

    /// Reads `hf://OWNER/REPO[/PATH][@REVISION]`; the revision is everything after the last `@` (it may hold
    /// `/`, as `refs/pr/1` does).
    /// - Throws: `ModelSource.ParseError` when the owner or repository is missing or a part is empty or `..`.
    public static func parse(_ text: String) throws(ModelSource.ParseError) -> HuggingFaceSource {
        let form = "hf://OWNER/REPO[/PATH][@REVISION]"
        var rest = Substring(text.drop { $0 != ":" }.dropFirst(3))
        var revision: String?
        if let at = rest.lastIndex(of: "@") {
            revision = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        if let revision, revision.isEmpty {
            throw ModelSource.ParseError(message: "\"\(text)\" has an empty revision after @; write \(form)")
        }
        guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ModelSource.ParseError(message: "\"\(text)\" does not name an owner and a repository; write \(form)")
        }
        let pathParts = parts.dropFirst(2)
        if pathParts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) || parts[0] == ".." || parts[1] == ".." {
            throw ModelSource.ParseError(message: "\"\(text)\" has an empty, . or .. path component; write \(form)")
        }
        return HuggingFaceSource(
            owner: String(parts[0]), repo: String(parts[1]),
            path: pathParts.isEmpty ? nil : pathParts.joined(separator: "/"), revision: revision ?? "main")
    }
}
