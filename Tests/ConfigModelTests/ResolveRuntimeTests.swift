import ConfigModel
import Testing

@Suite struct ResolveRuntimeTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var label: String
        var specRuntime: String?
        var defaultRuntime: String
        var enabled: Set<String>?
        var expected: Result<ResolvedRuntime, RuntimeResolutionError>
        var testDescription: String { label }
    }

    static let rows: [Row] = [
        Row(
            label: "no spec.runtime -> default", specRuntime: nil, defaultRuntime: "llama-server", enabled: nil,
            expected: .success(ResolvedRuntime(name: "llama-server", source: .default))),
        Row(
            label: "empty spec.runtime -> default", specRuntime: "", defaultRuntime: "mlx-server", enabled: nil,
            expected: .success(ResolvedRuntime(name: "mlx-server", source: .default))),
        Row(
            label: "per-entry override", specRuntime: "mlx-server", defaultRuntime: "llama-server",
            enabled: ["llama-server", "mlx-server"], expected: .success(ResolvedRuntime(name: "mlx-server", source: .spec))),
        Row(
            label: "alias llamacpp in spec", specRuntime: "llamacpp", defaultRuntime: "mlx-server", enabled: nil,
            expected: .success(ResolvedRuntime(name: "llama-server", source: .spec))),
        Row(
            label: "alias llamacpp as default", specRuntime: nil, defaultRuntime: "llamacpp", enabled: ["llama-server"],
            expected: .success(ResolvedRuntime(name: "llama-server", source: .default))),
        Row(
            label: "spec runtime not enabled", specRuntime: "mlx-server", defaultRuntime: "llama-server", enabled: ["llama-server"],
            expected: .failure(.notEnabled(runtime: "mlx-server", source: .spec, enabled: ["llama-server"]))),
        Row(
            label: "default runtime not enabled", specRuntime: nil, defaultRuntime: "llama-server", enabled: ["mlx-server"],
            expected: .failure(.notEnabled(runtime: "llama-server", source: .default, enabled: ["mlx-server"]))),
        Row(
            label: "unknown default", specRuntime: nil, defaultRuntime: "vllm", enabled: nil,
            expected: .failure(.unknown(runtime: "vllm"))),
    ]

    @Test(arguments: rows)
    func resolves(row: Row) {
        let service = InferenceService(name: "svc", modelRef: "m", runtime: row.specRuntime)
        let actual: Result<ResolvedRuntime, RuntimeResolutionError>
        do throws(RuntimeResolutionError) {
            actual = .success(try resolveRuntime(service, default: row.defaultRuntime, enabled: row.enabled))
        } catch {
            actual = .failure(error)
        }
        #expect(actual == row.expected)
    }

    @Test func notEnabledMessageNamesRuntimeSourceAndEnabledList() {
        let error = RuntimeResolutionError.notEnabled(runtime: "mlx-server", source: .spec, enabled: ["llama-server"])
        #expect(error.description == "runtime \"mlx-server\" (from spec.runtime) is not enabled on this node; enabled: llama-server")
    }
}
