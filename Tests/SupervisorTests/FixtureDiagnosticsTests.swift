import ConfigModel
import Foundation
import Testing

@testable import Supervisor

/// Every valid fixture (`Tests/ConfigModelTests/Fixtures/valid`) and the example get exactly the entry
/// errors and warnings their header lines name: `# entry-error: LINE:COL: FIELD: MESSAGE [Reason]` and
/// `# warning: ...`, in the order the agent reports them; no header line means none. Model files are
/// taken to exist (GGUF files, MLX folders), so only what the YAML says decides.
@Suite struct FixtureDiagnosticsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("ConfigModelTests/Fixtures/valid")
    static let repo = fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var files: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { fixtures.appendingPathComponent($0).path }
            + ["examples/models.yaml", "examples/cluster-user.yaml"].map { repo.appendingPathComponent($0).path }
    }

    /// Header lines with `prefix`, in order.
    static func expected(_ path: String, _ prefix: String) -> [String] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    @Test(arguments: files)
    func fixtureGetsExactlyItsEntryErrorsAndWarnings(path: String) throws {
        let config = try ConfigLoader.load([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), file: path)
        let builder = DesiredStateBuilder(
            node: NodeRuntimes(
                defaultRuntime: "llama-server", binaries: ["llama-server": "/opt/bin/llama-server", "mlx-server": "/opt/bin/mlx_lm.server"]))
        let desired = builder.build(config) { file in (true, !file.hasSuffix(".gguf")) }
        let entryErrors = desired.compactMap { entry -> String? in
            if case .failed(let diagnostic) = entry.action { return diagnostic.description }
            return nil
        }
        let warnings = (builder.configWarnings(config) + desired.flatMap(\.warnings)).map(\.description)
        #expect(entryErrors == Self.expected(path, "# entry-error: ").map { "\(path):\($0)" })
        #expect(warnings == Self.expected(path, "# warning: ").map { "\(path):\($0)" })
    }
}
