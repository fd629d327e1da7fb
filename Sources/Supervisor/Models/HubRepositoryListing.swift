import Foundation

/// The files of a Hugging Face model repository, as the hub's model API lists them:
/// `GET ENDPOINT/api/models/OWNER/REPO/revision/REVISION?blobs=true` answers JSON whose `siblings` array
/// holds `{"rfilename": "config.json", "size": 123, "lfs": {"sha256": "...", "size": 123}}`
/// (huggingface_hub's `model_info(..., files_metadata=True)` reads the same).
enum HubRepositoryListing {
    /// One file of the repository.
    struct File: Sendable, Hashable {
        /// Path inside the repository (`model.safetensors`, `tokenizer/vocab.json`).
        var name: String
        /// Bytes, when listed.
        var size: Int64?
        /// SHA-256 of an LFS file (weights), when listed; checked after the download.
        var sha256: String?
    }

    /// The listing URL for a repository at a revision.
    static func url(endpoint: String, owner: String, repo: String, revision: String) -> String {
        "\(endpoint)/api/models/\(escape(owner))/\(escape(repo))/revision/\(escape(revision))?blobs=true"
    }

    /// Reads the listing; hidden files (`.gitattributes`) are left out.
    /// - Throws: `ModelFetchError(.ModelDownloadFailed)` when the JSON has no usable `siblings`, or a file
    ///   name would leave the folder (`..`, an absolute path).
    static func files(fromJSON body: [UInt8], url: String) throws -> [File] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let siblings = object["siblings"] as? [[String: Any]]
        else {
            throw ModelFetchError(.ModelDownloadFailed, "\(url) did not answer a model listing (JSON with \"siblings\")")
        }
        var files: [File] = []
        for sibling in siblings {
            guard let name = sibling["rfilename"] as? String, !name.isEmpty else { continue }
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            if name.hasPrefix("/") || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
                throw ModelFetchError(.ModelDownloadFailed, "\(url) lists a file named \"\(name)\", which would leave the model folder")
            }
            if parts.contains(where: { $0.hasPrefix(".") }) { continue }
            let lfs = sibling["lfs"] as? [String: Any]
            let size = (sibling["size"] as? NSNumber)?.int64Value ?? (lfs?["size"] as? NSNumber)?.int64Value
            let sha = (lfs?["sha256"] as? String).flatMap { $0.count == 64 ? $0.lowercased() : nil }
            files.append(File(name: name, size: size, sha256: sha))
        }
        guard !files.isEmpty else {
            throw ModelFetchError(.ModelDownloadFailed, "\(url) lists no files")
        }
        return files
    }

    /// Percent-encodes a path segment (RFC 3986 unreserved characters stay).
    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"))
            ?? segment
    }
}
