import ConfigModel
import Testing

/// Files saved on Windows (byte-order mark, CRLF) and joined with `cat`, and tabs in indentation.
@Suite struct ByteOrderMarkAndTabTests {
    static let bom = "\u{FEFF}"

    /// A file as a Windows editor saves it: BOM first, CRLF line ends.
    static func windowsFile(_ text: String) -> String {
        bom + text.replacingOccurrences(of: "\n", with: "\r\n")
    }

    @Test func oneWindowsFileLoads() throws {
        let config = try ConfigLoader.load(Array(Self.windowsFile(ggufModel + "\n---\n" + service() + "\n").utf8), file: "/etc/ma/models.yaml")
        #expect(config.services.map(\.name) == ["chat"])
    }

    /// The field report: two files that each start with a BOM and `---`, joined with `cat`, put a BOM
    /// before the second file's `---`; libyaml rejected the whole file ("did not find expected key").
    @Test func twoWindowsFilesJoinedWithCatLoad() throws {
        let first = Self.windowsFile("---\n" + ggufModel + "\n")
        let second = Self.windowsFile("---\n" + service() + "\n")
        let config = try ConfigLoader.load(Array((first + second).utf8), file: "/etc/ma/models.yaml")
        #expect(config.services.map(\.name) == ["chat"])
        #expect(config.models["tiny"] != nil)
    }

    /// The same kind: a document that starts with a directive (`%YAML 1.1`) after the previous one's
    /// `...`, with a BOM before the directive; and a BOM followed by comment lines, then `---`.
    @Test func bomBeforeADirectiveAndBeforeCommentsLoads() throws {
        let directive = Self.windowsFile(ggufModel + "\n...\n") + Self.windowsFile("%YAML 1.1\n---\n" + service("b") + "\n")
        #expect(try ConfigLoader.load(Array(directive.utf8), file: "/m.yaml").services.map(\.name) == ["b"])
        let commented = ggufModel + "\n" + Self.bom + "# second file\n\n---\n" + service() + "\n"
        #expect(try ConfigLoader.load(Array(commented.utf8), file: "/m.yaml").services.map(\.name) == ["chat"])
    }

    /// The first file does not end with a line break: the BOM lands mid-line, inside a document.
    @Test func bomAfterAFileWithoutAFinalLineBreakIsNamed() throws {
        let text = Self.windowsFile(ggufModel) + Self.windowsFile("---\n" + service() + "\n")
        let first = try #require(loadErrors(Array(text.utf8)).first)
        #expect(first.line == 6 && first.column == 27, "\(first)")
        #expect(first.message.contains("byte-order mark (U+FEFF) inside a document"), "\(first)")
    }

    /// A second file without `---` does not start a document: the BOM is inside the first one, and the
    /// error names it, where it is, and how to fix it.
    @Test func bomInsideADocumentIsNamedWithItsPosition() throws {
        let text = Self.windowsFile(ggufModel + "\n") + Self.windowsFile(service() + "\n")
        let errors = loadErrors(Array(text.utf8))
        let first = try #require(errors.first)
        #expect(first.line == 7 && first.column == 1, "\(first)")
        #expect(first.message.contains("byte-order mark (U+FEFF) inside a document"), "\(first)")
        #expect(first.message.contains("\"---\""), "\(first)")
    }

    /// The same kind, mid-line: a BOM pasted into a value.
    @Test func bomInsideAValueIsNamed() throws {
        let text = ggufModel + "\n---\n" + service("chat", "extraArgs: [\"--x\(Self.bom)\"]") + "\n"
        let first = try #require(loadErrors(Array(text.utf8)).first)
        #expect(first.line == 14 && first.column == 19, "\(first)")
        #expect(first.message.contains("byte-order mark"), "\(first)")
    }

    /// libyaml says "found character that cannot start any token" for a tab that indents a key; the
    /// error must say "tab" and point at it.
    @Test func tabIndentingAKeyIsNamed() throws {
        let text = "\(header)\nkind: InferenceService\nmetadata:\n  name: chat\nspec:\n\tmodelRef: tiny\n"
        let first = try #require(loadErrors(Array(text.utf8)).first)
        #expect(first.message.contains("tab character used as indentation"), "\(first)")
        #expect(first.line == 6 && first.column == 1, "\(first)")
    }

    /// The same kind: a tab after spaces in the indentation, and a tab inside a list's indentation.
    @Test(arguments: [
        ("spec:\n  modelRef: tiny\n  \tport: 8081\n", 3, 3),
        ("spec:\n  extraArgs:\n   \t- --x\n", 3, 4),
        ("spec:\n \t modelRef: tiny\n", 2, 2),
    ])
    func tabsAnywhereInIndentationAreNamed(spec: String, line: Int, column: Int) throws {
        let text = "\(header)\nkind: InferenceService\nmetadata:\n  name: chat\n" + spec
        let first = try #require(loadErrors(Array(text.utf8)).first)
        #expect(first.message.contains("tab"), "\(first)")
        #expect(first.line == line + 4 && first.column == column, "\(first)")
    }

    /// A tab where YAML allows white space (after a colon) is not an error.
    @Test func tabAfterAColonIsFine() throws {
        let text = ggufModel + "\n---\n" + service("chat", "port:\t8081") + "\n"
        #expect(try ConfigLoader.load(Array(text.utf8), file: "/m.yaml").services.first?.port == 8081)
    }
}
