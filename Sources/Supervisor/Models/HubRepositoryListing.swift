import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
        guard let siblings = try? JSONDecoder().decode(Listing.self, from: Data(body)).siblings else {
            throw ModelFetchError(.ModelDownloadFailed, "\(url) did not answer a model listing (JSON with \"siblings\")")
        }
        var files: [File] = []
        for sibling in siblings {
            guard let name = sibling.rfilename, !name.isEmpty else { continue }
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            if name.hasPrefix("/") || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
                throw ModelFetchError(.ModelDownloadFailed, "\(url) lists a file named \"\(name)\", which would leave the model folder")
            }
            if parts.contains(where: { $0.hasPrefix(".") }) { continue }
            let size = sibling.size ?? sibling.lfs?.size
            let sha = sibling.lfs?.sha256.flatMap { $0.count == 64 ? $0.lowercased() : nil }
            files.append(File(name: name, size: size, sha256: sha))
        }
        guard !files.isEmpty else {
            throw ModelFetchError(.ModelDownloadFailed, "\(url) lists no files")
        }
        return files
    }

    /// The listing's shape. A field of another type than expected reads as absent, as does a sibling
    /// that is not an object.
    private struct Listing: Decodable {
        var siblings: [Sibling]
    }

    private struct Sibling: Decodable {
        var rfilename: String?
        var size: Int64?
        var lfs: LFS?

        init(from decoder: any Decoder) throws {
            guard let c = try? decoder.container(keyedBy: Key.self) else { return }
            rfilename = try? c.decode(String.self, forKey: .rfilename)
            size = Sibling.bytes(c, .size)
            lfs = try? c.decode(LFS.self, forKey: .lfs)
        }

        struct LFS: Decodable {
            var size: Int64?
            var sha256: String?

            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: Key.self)
                size = Sibling.bytes(c, .size)
                sha256 = try? c.decode(String.self, forKey: .sha256)
            }
        }

        enum Key: String, CodingKey { case rfilename, size, lfs, sha256 }

        /// A size written as an integer, or as a number with a zero fraction (`123.0`).
        static func bytes(_ c: KeyedDecodingContainer<Key>, _ key: Key) -> Int64? {
            if let value = try? c.decode(Int64.self, forKey: key) { return value }
            if let value = try? c.decode(Double.self, forKey: key), value >= 0, value < 9.0e18 { return Int64(value) }
            return nil
        }
    }

    /// Percent-encodes a path segment (RFC 3986 unreserved characters stay).
    static func escape(_ segment: String) -> String {
        TextFormat.percentEncoded(segment)
    }
}
