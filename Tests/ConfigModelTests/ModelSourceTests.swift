import ConfigModel
import Testing

/// Every form `spec.source` takes, parsed against the config folder `/etc/ma`.
@Suite struct ModelSourceTests {
    func parse(_ text: String) throws -> ModelSource { try ModelSource.parse(text, folder: "/etc/ma") }

    func message(_ text: String) -> String? {
        do throws(ModelSource.ParseError) {
            _ = try ModelSource.parse(text, folder: "/etc/ma")
            return nil
        } catch {
            return error.message
        }
    }

    @Test(arguments: [
        // absolute
        ("/srv/models/m.gguf", "/srv/models/m.gguf"),
        // relative to the config file's folder, with and without ./
        ("models/m.gguf", "/etc/ma/models/m.gguf"),
        ("./m.gguf", "/etc/ma/m.gguf"),
        ("../shared/m.gguf", "/etc/shared/m.gguf"),
        // RFC 8089: empty host, localhost (any case), the host-less file:/path form
        ("file:///srv/m.gguf", "/srv/m.gguf"),
        ("file://localhost/srv/m.gguf", "/srv/m.gguf"),
        ("file://LocalHost/srv/m.gguf", "/srv/m.gguf"),
        ("file:/srv/m.gguf", "/srv/m.gguf"),
        ("FILE:///srv/m.gguf", "/srv/m.gguf"),
        // percent-decoding, UTF-8 included
        ("file:///srv/my%20models/x.gguf", "/srv/my models/x.gguf"),
        ("file:///srv/mod%C3%A8les/x%2Bq4.gguf", "/srv/modèles/x+q4.gguf"),
        // a path with a colon that is not a URL scheme stays a relative path
        ("models/a:b.gguf", "/etc/ma/models/a:b.gguf"),
    ])
    func localForms(written: String, path: String) throws {
        #expect(try parse(written) == .path(path))
    }

    @Test func homeForms() throws {
        #expect(try parse("~/models/m.gguf") == .home("models/m.gguf"))
        #expect(try parse("~") == .home(""))
        #expect(message("~bob/m.gguf")?.contains("only ~/") == true)
    }

    @Test(arguments: [
        ("file://nas.local/srv/m.gguf", "names host \"nas.local\""),
        ("file://srv/m.gguf", "names host \"srv\""),
        ("file:relative/m.gguf", "no absolute path"),
        ("file:///srv/m%2.gguf", "malformed percent-escape"),
        ("file:///srv/m%zz.gguf", "malformed percent-escape"),
        ("file:///srv/m%FF.gguf", "malformed percent-escape"),
        ("file:///srv/m.gguf?x=1", "has a query"),
        ("file:///srv/m.gguf#frag", "has a fragment"),
        ("file:///srv/m%00.gguf", "NUL"),
    ])
    func malformedFileURLs(written: String, expected: String) {
        let text = message(written)
        #expect(text?.contains(expected) == true, "\(written): \(text ?? "accepted")")
    }

    @Test func httpSources() throws {
        #expect(try parse("https://example.com/m.gguf") == .http("https://example.com/m.gguf"))
        #expect(try parse("http://127.0.0.1:8000/m.gguf?x=1") == .http("http://127.0.0.1:8000/m.gguf?x=1"))
        #expect(message("https:///m.gguf")?.contains("no host") == true)
    }

    @Test(arguments: [
        ("hf://TheBloke/Mistral-7B-GGUF/mistral-7b.Q4_K_M.gguf", HuggingFaceSource(owner: "TheBloke", repo: "Mistral-7B-GGUF", path: "mistral-7b.Q4_K_M.gguf")),
        ("hf://o/r/sub/dir/m.gguf@v1.0", HuggingFaceSource(owner: "o", repo: "r", path: "sub/dir/m.gguf", revision: "v1.0")),
        ("hf://o/r/m.gguf@0123abcd", HuggingFaceSource(owner: "o", repo: "r", path: "m.gguf", revision: "0123abcd")),
        ("hf://mlx-community/tiny", HuggingFaceSource(owner: "mlx-community", repo: "tiny", path: nil)),
        ("hf://mlx-community/tiny@refs/pr/1", HuggingFaceSource(owner: "mlx-community", repo: "tiny", path: nil, revision: "refs/pr/1")),
    ])
    func huggingFaceSources(written: String, expected: HuggingFaceSource) throws {
        #expect(try parse(written) == .huggingFace(expected))
    }

    @Test(arguments: ["hf://owner", "hf://", "hf://o/r/../m.gguf", "hf://o/r//m.gguf", "hf://o/r/m.gguf@"])
    func malformedHuggingFaceSources(written: String) {
        #expect(message(written) != nil, "\(written) must be rejected")
    }

    @Test(arguments: ["pvc://models/m.gguf", "s3://bucket/m.gguf", "gs://bucket/m.gguf"])
    func otherSchemesAreKeptForAnEntryError(written: String) throws {
        #expect(try parse(written) == .remote(written))
    }
}
