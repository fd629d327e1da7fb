/// Names of the runtimes the config format knows, and the aliases clusters write for them.
///
/// A runtime name in `spec.runtime` is compared as written (case-sensitive). `spec.runtime` takes both
/// vocabularies: the CRD's values (`llamacpp`, `vllm`, ...) and the metal agents' keys (`llama-server`,
/// `mlx-server`, `omlx`, ...). `known` and `aliases` are what this agent runs; `notSupported` are known
/// values it cannot run (an entry error, `RuntimeNotSupported`); anything else is a file error with a
/// "did you mean" suggestion.
public enum RuntimeName {
    /// llama.cpp's OpenAI-compatible server; serves `gguf` models.
    public static let llamaServer = "llama-server"
    /// An MLX server (`mlx-server` or `mlx_lm.server`); serves `mlx` model folders.
    public static let mlxServer = "mlx-server"

    /// Canonical runtime names, sorted.
    public static let known: [String] = [llamaServer, mlxServer]

    /// Other spellings accepted for a canonical name. `llamacpp` is what LLMKube clusters write.
    public static let aliases: [String: String] = ["llamacpp": llamaServer]

    /// Known runtime values (LLMKube's CRD and the upstream metal agent) that this agent cannot run.
    public static let notSupported: [String] = ["llamacpp-router", "personaplex", "vllm", "tgi", "sglang", "generic", "omlx", "ollama", "vllm-swift"]

    /// Every value `spec.runtime` accepts, in the order the CRD and the agents list them.
    public static var accepted: [String] { SpecFields.crdRuntimes + SpecFields.agentRuntimes }

    /// The canonical name for `written`, or nil when it is neither a known name nor an alias.
    public static func canonical(_ written: String) -> String? {
        if known.contains(written) { return written }
        return aliases[written]
    }
}
