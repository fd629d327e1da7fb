import ConfigModel
import Foundation
import Testing

/// The YAML fixtures: each class of bad input and the exact error it gets (the README's table), and the
/// agreement between the parser and `schema/models.schema.json`.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repo = root.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func files(_ folder: String) -> [String] {
        let dir = root.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { dir.appendingPathComponent($0).path }
    }

    /// The text after `# error: ` on the fixture's first line.
    static func expectedError(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let firstLine = data.prefix { $0 != 0x0A }
        let text = String(decoding: firstLine, as: UTF8.self)
        return text.hasPrefix("# error: ") ? String(text.dropFirst("# error: ".count)) : nil
    }

    static func load(_ path: String) -> Result<AgentConfig, ConfigLoadError> {
        let bytes = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
        do { return .success(try ConfigLoader.load(bytes, file: path)) } catch { return .failure(error) }
    }

    static var valid: [String] {
        files("valid") + ["examples/models.yaml", "examples/cluster-user.yaml"].map { repo.appendingPathComponent($0).path }
    }
    static var invalid: [String] { files("invalid") }
    static var crossDocument: [String] { files("invalid-cross-document") }
}

@Suite struct FixtureTests {
    @Test func thereAreFixturesOfEveryKind() {
        #expect(Fixtures.files("valid").count >= 3)
        #expect(Fixtures.invalid.count >= 15)
        #expect(Fixtures.crossDocument.count >= 3)
    }

    @Test(arguments: Fixtures.valid)
    func validFixtureLoads(path: String) {
        if case .failure(let error) = Fixtures.load(path) { Issue.record("\(path) should load:\n\(error)") }
    }

    @Test(arguments: Fixtures.invalid + Fixtures.crossDocument)
    func invalidFixtureGetsItsExactError(path: String) throws {
        let expected = try #require(Fixtures.expectedError(path), "\(path) has no '# error:' first line")
        switch Fixtures.load(path) {
        case .success:
            Issue.record("\(path) loaded, but should fail with: \(expected)")
        case .failure(let error):
            let first = try #require(error.errors.first)
            #expect(first.description.hasPrefix("\(path):\(first.line):\(first.column): "))
            #expect(first.line >= 1 && first.column >= 1)
            #expect(first.description.contains(expected), "got: \(first.description)")
        }
    }
}

/// `schema/models.schema.json` and the parser agree on every fixture and example: both accept the valid
/// ones, both reject the invalid ones, and only the parser rejects the cross-document ones (a per-document
/// schema cannot see them). Runs `scripts/check-schema` with `SCHEMA_PYTHON` (set by `scripts/test`).
@Suite struct SchemaAgreementTests {
    static let python = ProcessInfo.processInfo.environment["SCHEMA_PYTHON"]
    static let required = ProcessInfo.processInfo.environment["METAL_AGENT_E2E"] == "1"

    @Test(.enabled(if: python != nil || required, "set SCHEMA_PYTHON (scripts/provision) to check the schema"))
    func schemaAndParserAgree() throws {
        let python = try #require(Self.python, "METAL_AGENT_E2E=1 but SCHEMA_PYTHON is not set")
        let files = Fixtures.valid + Fixtures.invalid + Fixtures.crossDocument
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Fixtures.repo.appendingPathComponent("scripts/check-schema").path] + files
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        var schemaValid: [String: Bool] = [:]
        for line in output.split(separator: 0x0A) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            schemaValid[object["file"] as? String ?? ""] = object["valid"] as? Bool
            if object["valid"] as? Bool == true, Fixtures.invalid.contains(object["file"] as? String ?? "") {
                Issue.record("schema accepts \(object["file"]!), which the parser rejects")
            }
        }
        for path in files {
            let parserValid = (try? Fixtures.load(path).get()) != nil
            let expectSchemaValid = !Fixtures.invalid.contains(path)
            let expectParserValid = Fixtures.valid.contains(path)
            #expect(parserValid == expectParserValid, "parser on \(path)")
            #expect(schemaValid[path] == expectSchemaValid, "schema on \(path): \(String(describing: schemaValid[path]))")
        }
    }
}

/// `schema/models.schema.json` is generated from the field table (`SpecFields`): the committed file must
/// be exactly what the generator writes. `METAL_AGENT_WRITE_SCHEMA=1 swift test --filter SchemaFileTests`
/// rewrites it after a change to the table.
@Suite struct SchemaFileTests {
    @Test func committedSchemaIsTheGeneratedOne() throws {
        let path = Fixtures.repo.appendingPathComponent("schema/models.schema.json").path
        let generated = JSONSchemaGenerator.schema()
        if ProcessInfo.processInfo.environment["METAL_AGENT_WRITE_SCHEMA"] == "1" {
            try Data(generated.utf8).write(to: URL(fileURLWithPath: path))
        }
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        #expect(committed == generated, "schema/models.schema.json is stale: run METAL_AGENT_WRITE_SCHEMA=1 swift test --filter SchemaFileTests")
        // It parses as JSON, and every field of the table is in it.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(committed.utf8)) as? [String: Any])
        let definitions = try #require(json["definitions"] as? [String: Any])
        let service = try #require((definitions["inferenceServiceSpec"] as? [String: Any])?["properties"] as? [String: Any])
        #expect(Set(service.keys) == Set(SpecFields.inferenceService.map(\.name)))
    }
}
