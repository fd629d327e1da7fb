import ConfigModel
import Foundation
import Supervisor
import Testing

/// `ConfigReport.check`: the two kinds of errors, with positions, on a real folder.
@Suite struct ConfigReportTests {
    let dir: URL
    let file: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ma-report-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("mlx"), withIntermediateDirectories: true)
        try Data("GGUF".utf8).write(to: dir.appendingPathComponent("m.gguf"))
        file = dir.appendingPathComponent("models.yaml").path
    }

    static let text = """
        apiVersion: inference.llmkube.dev/v1alpha1
        kind: Model
        metadata: {name: g}
        spec: {source: m.gguf}
        ---
        apiVersion: inference.llmkube.dev/v1alpha1
        kind: Model
        metadata: {name: x}
        spec:
          source: mlx
          format: mlx
        ---
        apiVersion: inference.llmkube.dev/v1alpha1
        kind: Model
        metadata: {name: gone}
        spec:
          source: nowhere.gguf
        ---
        apiVersion: inference.llmkube.dev/v1alpha1
        kind: InferenceService
        metadata: {name: ok}
        spec:
          modelRef: g
          extraArgs: ["--ctx-size=4096", "--threads", "2"]
        ---
        apiVersion: inference.llmkube.dev/v1alpha1
        kind: InferenceService
        metadata: {name: wrong-format}
        spec:
          modelRef: x
        ---
        apiVersion: inference.llmkube.dev/v1alpha1
        kind: InferenceService
        metadata: {name: missing}
        spec:
          modelRef: gone
        ---
        apiVersion: inference.llmkube.dev/v1alpha1
        kind: InferenceService
        metadata: {name: not-enabled}
        spec:
          modelRef: x
          runtime: mlx-server

        """

    @Test func entryErrorsAndWarningsPointAtTheField() {
        let report = ConfigReport.check(
            Array(Self.text.utf8), file: file, node: NodeRuntimes(defaultRuntime: "llama-server", binaries: ["llama-server": "/bin/true"]))
        #expect(report.fileErrors.isEmpty)
        #expect(!report.valid)
        #expect(report.entryErrors.map(\.reason) == [.FormatMismatch, .ModelNotFound, .RuntimeNotEnabled])
        let format = report.entryErrors[0].error
        #expect((format.line, format.column) == (30, 13))  // wrong-format's spec.modelRef value
        #expect(format.field == "InferenceService \"wrong-format\" spec.modelRef")
        #expect(format.message.contains("from the agent's default runtime"))
        let missing = report.entryErrors[1].error
        #expect((missing.line, missing.column) == (17, 11))  // Model "gone" spec.source
        #expect(missing.message.contains("nowhere.gguf does not exist"))
        let notEnabled = report.entryErrors[2].error
        #expect((notEnabled.line, notEnabled.column) == (43, 12))
        #expect(
            notEnabled.description.hasPrefix(
                "\(file):43:12: InferenceService \"not-enabled\" spec.runtime: runtime \"mlx-server\" (from spec.runtime) is not enabled"))
        #expect(report.warnings.map(\.reason) == [.OverriddenFlag])
        #expect(report.warnings[0].error.message.contains("\"--ctx-size\" repeats a flag the agent sets for llama-server"))
    }

    @Test func fileErrorsComeAloneAndListEverything() {
        let broken = Self.text.replacingOccurrences(of: "modelRef: gone", with: "modelRef: gone\n  replicas: 11\n  contextSize: \"big\"")
        let report = ConfigReport.check(Array(broken.utf8), file: file, node: NodeRuntimes(defaultRuntime: "llama-server", binaries: [:]))
        #expect(report.fileErrors.map(\.field) == ["InferenceService \"missing\" spec.replicas", "InferenceService \"missing\" spec.contextSize"])
        #expect(report.entryErrors.isEmpty)
        #expect(!report.valid)
    }
}
