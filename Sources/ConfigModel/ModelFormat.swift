/// The on-disk format of a model's weights (`Model.spec.format`), with the CRD's values. A known format
/// no runtime of this agent serves is an entry error (`FormatNotSupported`), not a file error.
public enum ModelFormat: String, Sendable, Hashable, Codable, CaseIterable {
    /// A single `.gguf` file, served by llama-server (llama.cpp).
    case gguf
    /// An MLX model folder (`config.json`, `*.safetensors`, tokenizer), served by an MLX server.
    case mlx
    /// Hugging Face safetensors weights (vLLM, TGI, SGLang in a cluster); no runtime here serves them.
    case safetensors
    /// PyTorch checkpoints; no runtime here serves them.
    case pytorch
    /// A runtime-specific layout; no runtime here serves it.
    case custom
}
