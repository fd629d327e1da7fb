import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a Model's weights are on this node, and what must happen first for them to be there: the
/// resolution of `spec.source` against the agent's environment and model store. Pure (no I/O).
struct ModelLocation: Sendable, Hashable {
    /// The file or folder the runtime is given.
    var path: String
    /// A download or checksum to do before the start; nil when the path is used as it is.
    var fetch: ModelFetch?

    /// An entry error: the status reason and a sentence.
    struct Problem: Error, Sendable, Hashable {
        var reason: Reason
        var message: String
    }

    /// The public hub, used when `HF_ENDPOINT` is not set (huggingface_hub's default).
    static let defaultHubEndpoint = "https://huggingface.co"

    /// Resolves `model.source`.
    ///
    /// - `~/REST` -> `$HOME/REST` (`ModelNotFound` when HOME is unset or not absolute);
    /// - `http(s)://` -> a file in the store, downloaded first;
    /// - `hf://OWNER/REPO/PATH@REV` -> `HF_ENDPOINT/OWNER/REPO/resolve/REV/PATH`, downloaded like a URL, with
    ///   `Authorization: Bearer $HF_TOKEN` when set; `hf://OWNER/REPO@REV` (format mlx only) -> a store folder
    ///   filled from the hub's model API listing;
    /// - `pvc://`, `s3://` and other schemes -> `UnsupportedModelSource`, with what to do instead.
    /// A local path with `spec.sha256` gets a `.verify` fetch; a download checks the digest itself.
    static func resolve(_ model: Model, store: ModelStore, environment: [String: String]) -> Result<ModelLocation, Problem> {
        func local(_ path: String) -> Result<ModelLocation, Problem> {
            .success(ModelLocation(path: path, fetch: model.sha256.map { .verify(path: path, sha256: $0) }))
        }
        switch model.source {
        case .path(let path):
            return local(path)
        case .home(let rest):
            guard let home = environment["HOME"], home.hasPrefix("/") else {
                return .failure(
                    Problem(
                        reason: .ModelNotFound,
                        message:
                            "Model \"\(model.name)\" source ~/\(rest) is under the agent user's home folder, but HOME is not set in the agent's environment; set HOME for the agent or write an absolute path"
                    ))
            }
            return local(rest.isEmpty ? home : (home.hasSuffix("/") ? home : home + "/") + rest)
        case .http(let url):
            if model.format == .mlx {
                return .failure(
                    Problem(
                        reason: .UnsupportedModelSource,
                        message:
                            "Model \"\(model.name)\" has format mlx, which is a folder; an http(s):// URL names one file. Use hf://OWNER/REPO for an MLX repository, or a local folder"
                    ))
            }
            let destination = store.path(forURL: url)
            return .success(ModelLocation(path: destination, fetch: .file(url: url, headers: [], destination: destination, sha256: model.sha256)))
        case .huggingFace(let hf):
            var endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultHubEndpoint
            while endpoint.hasSuffix("/") { endpoint.removeLast() }
            let headers = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : [ModelFetch.Header(name: "Authorization", value: "Bearer \($0)")] } ?? []
            let repoURL = "\(endpoint)/\(HubRepositoryListing.escape(hf.owner))/\(HubRepositoryListing.escape(hf.repo))"
            if let file = hf.path {
                if model.format == .mlx {
                    return .failure(
                        Problem(
                            reason: .UnsupportedModelSource,
                            message:
                                "Model \"\(model.name)\" has format mlx, which is a whole repository: write hf://\(hf.owner)/\(hf.repo)@\(hf.revision) without a file path"
                        ))
                }
                let url =
                    "\(repoURL)/resolve/\(HubRepositoryListing.escape(hf.revision))/"
                    + file.split(separator: "/").map { HubRepositoryListing.escape(String($0)) }.joined(separator: "/")
                let destination = store.path(forURL: url)
                return .success(ModelLocation(path: destination, fetch: .file(url: url, headers: headers, destination: destination, sha256: model.sha256)))
            }
            guard model.format == .mlx else {
                return .failure(
                    Problem(
                        reason: .UnsupportedModelSource,
                        message:
                            "Model \"\(model.name)\" source \(hf) names a whole repository, which only format: mlx uses; name the GGUF file: hf://\(hf.owner)/\(hf.repo)/FILE.gguf"
                    ))
            }
            let destination = store.folder(forRepository: "\(repoURL)@\(hf.revision)", name: hf.repo)
            return .success(
                ModelLocation(
                    path: destination,
                    fetch: .repository(
                        source: hf.description,
                        listURL: HubRepositoryListing.url(endpoint: endpoint, owner: hf.owner, repo: hf.repo, revision: hf.revision),
                        resolveBase: "\(repoURL)/resolve/\(HubRepositoryListing.escape(hf.revision))", headers: headers, destination: destination)))
        case .remote(let url):
            let scheme = url.prefix { $0 != ":" }.lowercased()
            let instead: String
            switch scheme {
            case "pvc":
                instead = "a PersistentVolumeClaim exists only in a cluster; copy the model onto this node and write its path, or serve it over http(s)://"
            case "s3":
                instead = "the agent does not read S3; use the object's https:// URL (a presigned URL works) or copy it onto this node and write its path"
            default: instead = "use a local path, a file:// URL, an http(s):// URL or hf://OWNER/REPO/FILE"
            }
            return .failure(
                Problem(reason: .UnsupportedModelSource, message: "Model \"\(model.name)\" source \(url): \(scheme):// is not supported; \(instead)"))
        }
    }
}
