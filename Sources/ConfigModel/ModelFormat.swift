/// The on-disk format of a model's weights (`Model.spec.format`).
public enum ModelFormat: String, Sendable, Hashable, Codable, CaseIterable {
    /// A single `.gguf` file, served by llama-server (llama.cpp).
    case gguf
    /// An MLX model folder (`config.json`, `*.safetensors`, tokenizer), served by an MLX server.
    case mlx
}
