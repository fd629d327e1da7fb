/// Names of the runtimes the config format knows, and the aliases clusters write for them.
///
/// A runtime name in `spec.runtime` is compared as written (case-sensitive) against `known` and
/// `aliases`; anything else is a file error with a "did you mean" suggestion.
public enum RuntimeName {
    /// llama.cpp's OpenAI-compatible server; serves `gguf` models.
    public static let llamaServer = "llama-server"
    /// An MLX server (`mlx-server` or `mlx_lm.server`); serves `mlx` model folders.
    public static let mlxServer = "mlx-server"

    /// Canonical runtime names, sorted.
    public static let known: [String] = [llamaServer, mlxServer]

    /// Other spellings accepted for a canonical name. `llamacpp` is what LLMKube clusters write.
    public static let aliases: [String: String] = ["llamacpp": llamaServer]

    /// The canonical name for `written`, or nil when it is neither a known name nor an alias.
    public static func canonical(_ written: String) -> String? {
        if known.contains(written) { return written }
        return aliases[written]
    }
}
