import ConfigModel
import Foundation
import Testing

/// `ConfigLoader.parse(_:file:memo:)` reads again only the documents an edit changed, and always gives
/// what a parse from scratch gives.
@Suite struct DocumentMemoTests {
    static func entry(_ name: String, _ spec: String = "modelRef: m") -> String {
        "apiVersion: inference.llmkube.dev/v1alpha1\nkind: InferenceService\nmetadata:\n  name: \(name)\nspec:\n  \(spec)"
    }
    static let model = "apiVersion: inference.llmkube.dev/v1alpha1\nkind: Model\nmetadata:\n  name: m\nspec:\n  source: ./m.gguf"

    func parse(_ text: String, memo: inout ConfigLoader.DocumentMemo) -> Result<ConfigFile, ConfigLoadError> {
        Result { () throws(ConfigLoadError) in try ConfigLoader.parse(Array(text.utf8), file: "/cfg/models.yaml", memo: &memo) }
    }

    func fresh(_ text: String) -> Result<ConfigFile, ConfigLoadError> { fresh(Array(text.utf8)) }

    func fresh(_ bytes: [UInt8]) -> Result<ConfigFile, ConfigLoadError> {
        Result { () throws(ConfigLoadError) in try ConfigLoader.parse(bytes, file: "/cfg/models.yaml") }
    }

    func same(_ a: Result<ConfigFile, ConfigLoadError>, _ b: Result<ConfigFile, ConfigLoadError>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): return x == y
        case (.failure(let x), .failure(let y)): return x.errors == y.errors
        default: return false
        }
    }

    @Test func anEditReadsOnlyTheDocumentsItChangedAndGivesWhatAFreshParseGives() {
        var memo = ConfigLoader.DocumentMemo()
        let names = (0..<50).map { "e\($0)" }
        func text(_ edited: [String: String], extra: [String] = []) -> String {
            ([Self.model] + names.map { Self.entry($0, edited[$0] ?? "modelRef: m") } + extra).joined(separator: "\n---\n") + "\n"
        }
        let steps: [(String, Int)] = [
            (text([:]), 51),  // first parse: every document
            (text([:]), 0),  // unchanged
            (text(["e7": "modelRef: m\n  contextSize: 4096"]), 1),  // one value, one more line: e7, and every entry after it moved
            (text(["e7": "modelRef: m\n  contextSize: 8192"]), 1),  // same lines, another value: e7 only
            (text(["e7": "modelRef: m\n  contextSize: 8192", "e9": "modeRef: m"]), 1),  // a typo: a file error
            // e9 back (the memo holds the last parse only) and a duplicate name appended: those two
            (text(["e7": "modelRef: m\n  contextSize: 8192"], extra: [Self.entry("e3")]), 2),
            (text(["e7": "modelRef: m\n  contextSize: 8192"]), 0),  // the duplicate gone again
        ]
        for (index, (content, expectedReads)) in steps.enumerated() {
            let memoized = parse(content, memo: &memo)
            #expect(same(memoized, fresh(content)), "step \(index)")
            if index != 2 { #expect(memo.lastRead == expectedReads, "step \(index): read \(memo.lastRead)") }
        }
        // Step 2 moved every entry after e7 one line down: those were read again (positions are part of a result).
        #expect(memo.count == 51)
    }

    @Test func everyFixtureParsesTheSameWithAMemoSharedAcrossAllOfThem() {
        var memo = ConfigLoader.DocumentMemo()
        for path in Fixtures.valid + Fixtures.invalid + Fixtures.crossDocument {
            let bytes = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
            // Twice each: the second parse is all from the memo.
            for round in 0..<2 {
                let memoized = Result { () throws(ConfigLoadError) in try ConfigLoader.parse(bytes, file: "/cfg/models.yaml", memo: &memo) }
                #expect(same(memoized, fresh(bytes)), "\(path) round \(round)")
            }
        }
    }

    /// A `v1` List is one document of several items; a directive turns the memo off (it may sit outside
    /// the lines of the document it applies to); BOMs between documents are removed first.
    @Test func listsDirectivesAndByteOrderMarks() {
        let list =
            "apiVersion: v1\nkind: List\nitems:\n- " + Self.entry("a").replacingOccurrences(of: "\n", with: "\n  ")
            + "\n- " + Self.entry("b").replacingOccurrences(of: "\n", with: "\n  ")
        var memo = ConfigLoader.DocumentMemo()
        for (index, text) in [
            [Self.model, list].joined(separator: "\n---\n"),
            [Self.model, list].joined(separator: "\n---\n"),
            [Self.model, list.replacingOccurrences(of: "name: b", with: "name: c")].joined(separator: "\n---\n"),
        ].enumerated() {
            #expect(same(parse(text, memo: &memo), fresh(text)), "list step \(index)")
            #expect(memo.lastRead == [3, 0, 2][index], "list step \(index): \(memo.lastRead)")
        }
        let directive = "%YAML 1.2\n---\n" + [Self.model, Self.entry("a")].joined(separator: "\n---\n")
        for _ in 0..<2 {
            #expect(same(parse(directive, memo: &memo), fresh(directive)))
            #expect(memo.lastRead == 2)
        }
        let bom = "\u{FEFF}" + Self.model + "\n\u{FEFF}---\n" + Self.entry("a")
        for round in 0..<2 {
            let result = parse(bom, memo: &memo)
            #expect(same(result, fresh(bom)))
            #expect(throws: Never.self) { try result.get() }
            #expect(memo.lastRead == [2, 0][round])
        }
    }

    /// Streams where a cut at `---` lines could go wrong: each parses (or fails) with a memo as from
    /// scratch, and a second parse of a valid one reads nothing again when the stream can be cut.
    @Test(arguments: [
        // a literal block scalar that a `---` line ends, and content on the `---` line itself
        ("block", Self.model + "\n---\n" + Self.entry("a", "modelRef: m\n  extraArgs:\n  - |\n    x\n---\n" + Self.entry("b")), true),
        (
            "inline",
            "--- {apiVersion: inference.llmkube.dev/v1alpha1, kind: Model, metadata: {name: m}, spec: {source: ./m.gguf}}\n--- # c\n"
                + Self.entry("a"), true
        ),
        // `...` ends a document, comments follow it in the same chunk
        ("end marker", Self.model + "\n...\n# between\n---\n" + Self.entry("a") + "\n...\n# trailing\n", true),
        ("comments first", "# models\n\n---\n" + Self.model + "\n---\n" + Self.entry("a"), true),
        ("crlf", (Self.model + "\n---\n" + Self.entry("a") + "\n---\n" + Self.entry("b")).replacingOccurrences(of: "\n", with: "\r\n"), true),
        ("lone cr", (Self.model + "\n---\n" + Self.entry("a")).replacingOccurrences(of: "\n", with: "\r"), true),
        ("empty documents", "---\n---\n" + Self.model + "\n---\n---\n" + Self.entry("a"), true),
        ("only empty documents", "---\n---\n# nothing\n", false),
        // errors: a quoted scalar or a flow collection across a `---` line, an entry error after one
        ("quoted", Self.model + "\n---\n" + Self.entry("a", "modelRef: \"m\n---\n\""), false),
        ("flow", Self.model + "\n---\n" + Self.entry("a", "extraArgs: [x,\n---\n]"), false),
        ("tab", Self.model + "\n---\n" + Self.entry("a", "modelRef: m\n\tport: 1"), false),
        ("typo after a cut", Self.model + "\n---\n" + Self.entry("a") + "\n---\n" + Self.entry("b", "modeRef: m"), false),
        // libyaml counts NEL as a line break (YAML 1.1): never cut, and here an error
        ("NEL", Self.model + "\n---\n" + Self.entry("a", "modelRef: m # a\u{85}b"), false),
        ("dashes in a value", Self.model + "\n---\n" + Self.entry("a", "modelRef: m\n  extraArgs: [---x, '---']\n---x: 1"), false),
    ])
    func streamsThatACutCouldGetWrong(name: String, text: String, valid: Bool) throws {
        var memo = ConfigLoader.DocumentMemo()
        for round in 0..<2 {
            let memoized = parse(text, memo: &memo)
            #expect(same(memoized, fresh(text)), "\(name) round \(round)")
            if valid {
                #expect(throws: Never.self, "\(name)") { try memoized.get() }
            } else {
                #expect(throws: ConfigLoadError.self, "\(name)") { try memoized.get() }
            }
            if round == 1, valid, YAMLParser.chunks(Array(text.utf8)) != nil { #expect(memo.lastRead == 0, "\(name)") }
        }
    }

    /// Chunks start at `---` lines only, and number their lines as the whole stream does.
    @Test func chunksStartAtDocumentStartLines() throws {
        let text = "# c\r\n---\r\na: |\r\n  ---\r\n--- x\n---\tb\n----\n---"
        let chunks = try #require(YAMLParser.chunks(Array(text.utf8)))
        #expect(chunks.map(\.firstLine) == [1, 2, 5, 6, 8])
        #expect(chunks.map { String(decoding: $0.bytes, as: UTF8.self) } == ["# c\r\n", "---\r\na: |\r\n  ---\r\n", "--- x\n", "---\tb\n----\n", "---"])
        #expect(YAMLParser.chunks(Array("%YAML 1.2\n---\na: 1\n".utf8)) == nil)
        #expect(YAMLParser.chunks(Array("a: 1\u{2028}---\n".utf8)) == nil)
    }
}
