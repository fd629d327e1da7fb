import ConfigModel
import Testing

@testable import Supervisor

/// How each Model source resolves against the environment and the model store (pure: no I/O).
@Suite struct ModelLocationTests {
    let store = ModelStore(directory: "/var/cache/models")

    func resolve(
        _ source: String, format: ModelFormat = .gguf, sha256: String? = nil, env: [String: String] = [:]
    ) throws -> Result<ModelLocation, ModelLocation.Problem> {
        let model = Model(name: "m", source: try ModelSource.parse(source, folder: "/etc/ma"), format: format, sha256: sha256)
        return ModelLocation.resolve(model, store: store, environment: env)
    }

    @Test func homePathsUseHOMEAndSayWhenItIsUnset() throws {
        #expect(try resolve("~/models/m.gguf", env: ["HOME": "/home/ai"]).get() == ModelLocation(path: "/home/ai/models/m.gguf", fetch: nil))
        guard case .failure(let problem) = try resolve("~/models/m.gguf", env: [:]) else {
            Issue.record("HOME unset must be an entry error")
            return
        }
        #expect(problem.reason == .ModelNotFound)
        #expect(problem.message.contains("HOME is not set"))
    }

    @Test func aLocalFileWithADigestIsVerifiedBeforeTheStart() throws {
        let sha = String(repeating: "ab", count: 32)
        #expect(try resolve("/srv/m.gguf", sha256: sha).get().fetch == .verify(path: "/srv/m.gguf", sha256: sha))
    }

    @Test func aURLIsDownloadedIntoTheStoreKeyedByTheURL() throws {
        let a = try resolve("https://example.com/x/m.gguf").get()
        let b = try resolve("https://example.org/y/m.gguf").get()
        #expect(a.path.hasPrefix("/var/cache/models/") && a.path.hasSuffix("-m.gguf"))
        #expect(a.path != b.path, "the same file name from two URLs does not collide")
        #expect(a == (try resolve("https://example.com/x/m.gguf").get()), "the same URL, the same file")
    }

    @Test func huggingFaceFilesResolveUnderHFEndpointWithTheToken() throws {
        let location = try resolve("hf://acme/tiny-GGUF/sub/tiny q4.gguf@v1", env: ["HF_ENDPOINT": "http://127.0.0.1:9/", "HF_TOKEN": "t"]).get()
        guard case .file(let url, let headers, _, _) = location.fetch else {
            Issue.record("expected a file download")
            return
        }
        #expect(url == "http://127.0.0.1:9/acme/tiny-GGUF/resolve/v1/sub/tiny%20q4.gguf")
        #expect(headers == [.init(name: "Authorization", value: "Bearer t")])
        let public_ = try resolve("hf://acme/tiny-GGUF/tiny.gguf").get()
        guard case .file(let publicURL, let none, _, _) = public_.fetch else { return }
        #expect(publicURL == "https://huggingface.co/acme/tiny-GGUF/resolve/main/tiny.gguf")
        #expect(none.isEmpty)
    }

    @Test func aWholeRepositoryIsForMLXOnly() throws {
        let mlx = try resolve("hf://mlx-community/tiny", format: .mlx).get()
        guard case .repository(_, let listURL, let base, _, _) = mlx.fetch else {
            Issue.record("expected a repository fetch")
            return
        }
        #expect(listURL == "https://huggingface.co/api/models/mlx-community/tiny/revision/main?blobs=true")
        #expect(base == "https://huggingface.co/mlx-community/tiny/resolve/main")
        guard case .failure(let problem) = try resolve("hf://mlx-community/tiny") else {
            Issue.record("a whole repository as a GGUF model must be an entry error")
            return
        }
        #expect(problem.reason == .UnsupportedModelSource && problem.message.contains("FILE.gguf"))
        guard case .failure = try resolve("https://example.com/m", format: .mlx) else {
            Issue.record("an MLX folder cannot come from one URL")
            return
        }
    }

    @Test(arguments: [("pvc://models/m.gguf", "PersistentVolumeClaim"), ("s3://bucket/m.gguf", "https:// URL")])
    func clusterSourcesSayWhatToDoInstead(source: String, hint: String) throws {
        guard case .failure(let problem) = try resolve(source) else {
            Issue.record("\(source) must be an entry error")
            return
        }
        #expect(problem.reason == .UnsupportedModelSource)
        #expect(problem.message.contains(hint), "\(problem.message)")
    }
}
