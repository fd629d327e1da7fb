/// What must happen before an entry's runtime starts so that its model is on this node, whole and right.
///
/// Built by `DesiredStateBuilder` from the Model's source (pure: no I/O), carried out by `ModelFetcher`.
enum ModelFetch: Sendable, Hashable {
    /// An HTTP header sent with a download (a Hugging Face token as `Authorization: Bearer ...`).
    struct Header: Sendable, Hashable {
        var name: String
        var value: String
    }

    /// A local file with `spec.sha256`: hash it (remembered by path, size, mtime and inode) and compare.
    case verify(path: String, sha256: String)
    /// A file downloaded into the store (an `http(s)://` source, or an `hf://` source naming a file).
    case file(url: String, headers: [Header], destination: String, sha256: String?)
    /// A whole Hugging Face repository (an MLX model folder): list its files through the hub's model API
    /// (`listURL`), download each from `resolveBase + "/" + name` into one store folder.
    case repository(source: String, listURL: String, resolveBase: String, headers: [Header], destination: String)

    /// The file or folder the runtime reads once this is done.
    var destination: String {
        switch self {
        case .verify(let path, _): path
        case .file(_, _, let destination, _): destination
        case .repository(_, _, _, _, let destination): destination
        }
    }

    /// True for downloads (the destination appears only once they finish); false for a local check.
    var downloads: Bool {
        if case .verify = self { return false }
        return true
    }

    /// What is fetched, for logs and the status file.
    var source: String {
        switch self {
        case .verify(let path, _): path
        case .file(let url, _, _, _): url
        case .repository(let source, _, _, _, _): source
        }
    }
}
