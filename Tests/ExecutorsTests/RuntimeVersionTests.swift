import ConfigModel
import Executors
import Testing

/// Flags spelled per runtime version, and versions read from `--version` output.
@Suite struct RuntimeVersionTests {
    let executor = LlamaServerExecutor(defaultGPULayers: 0)

    func flashAttentionArgs(_ on: Bool, build: Int?) -> [String] {
        var r = resolved(InferenceService(name: "chat", modelRef: "m", flashAttention: on))
        r.version = build.map { RuntimeVersion(text: "version: \($0) (0123abcd)", build: $0) }
        let args = executor.launch(r).arguments
        guard let i = args.firstIndex(of: "--flash-attn") else { return [] }
        return Array(args[i...].prefix(2)).filter { $0 == "--flash-attn" || $0 == "on" || $0 == "off" }
    }

    /// b6324 and older take `--flash-attn` as a bare switch and reject `--flash-attn on`; their default is off.
    @Test func oldBuildsGetABareSwitch() {
        #expect(flashAttentionArgs(true, build: 6324) == ["--flash-attn"])
        #expect(flashAttentionArgs(false, build: 6324) == [])
        #expect(flashAttentionArgs(true, build: 5000) == ["--flash-attn"])
    }

    /// b6325 (PR #15434) and newer need a value; an unknown version gets the newest spelling.
    @Test func newBuildsGetAValue() {
        #expect(flashAttentionArgs(true, build: 6325) == ["--flash-attn", "on"])
        #expect(flashAttentionArgs(false, build: 6325) == ["--flash-attn", "off"])
        #expect(flashAttentionArgs(false, build: 11434) == ["--flash-attn", "off"])
        #expect(flashAttentionArgs(true, build: nil) == ["--flash-attn", "on"])
    }

    @Test(
        arguments: [
            ("version: 6325 (0123abcd)\nbuilt with cc (Debian 12.2.0-14) 12.2.0 for x86_64-linux-gnu\n", 6325, nil),
            ("ggml_metal_init: found device\nversion: 11434 (deadbeef)\nbuilt with Apple clang\n", 11434, nil),
            ("llama.cpp b4000\n", 4000, nil),
            ("version: 0.6.0-dev (build 11434, commit b11434)\nbuilt with GNU 12.2.0 for Linux x86_64\n", 11434, nil),
            ("0.32.2\n", nil, [0, 32, 2]),
            ("mlx_lm 0.31.3\n", nil, [0, 31, 3]),
        ] as [(String, Int?, [Int]?)])
    func parsesVersionOutput(output: String, build: Int?, dotted: [Int]?) throws {
        let version = try #require(RuntimeVersion.parse(output))
        #expect(version.build == build)
        #expect(version.dotted == dotted)
        #expect(RuntimeVersion.parse(version.text) == version, "the status file's text reads back the same")
    }

    @Test func outputWithoutAVersionIsNil() {
        #expect(RuntimeVersion.parse("usage: llama-server [options]\nerror: unknown argument\n") == nil)
        #expect(RuntimeVersion.parse("") == nil)
    }
}
