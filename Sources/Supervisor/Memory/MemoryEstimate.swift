import ConfigModel
import Executors

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What one entry is expected to need in memory (bytes), and how the figure was made.
///
/// GGUF (llama-server): the file's size (the weights, mapped whole) plus the KV cache,
/// `blockCount x contextSize x headCountKV x (keyLength x bytes(cache-type-k) + valueLength x bytes(cache-type-v))`,
/// with the counts from the GGUF header and the cache types from `-ctk`/`--cache-type-k` and
/// `-ctv`/`--cache-type-v` in `spec.extraArgs` (default f16, 2 bytes). The context is llama-server's whole
/// `--ctx-size` as it will run (`contextSize(_:trainedContext:)`: an `extraArgs` `-c` wins, 0 is the
/// model's training context), which it divides among `parallelSlots`, so more slots do not add KV memory.
/// A header that cannot be read counts the file's size alone (the message says so).
///
/// MLX (mlx-server): the folder's size times `MemoryEstimate.mlxFactor` (1.25): the safetensors are loaded
/// as they are; the factor covers the KV cache and activations of ordinary contexts.
public struct MemoryEstimate: Sendable, Hashable {
    /// Total bytes.
    public var bytes: Int64
    /// Bytes of weights (file or folder size).
    public var weightBytes: Int64
    /// Bytes of KV cache (GGUF only; 0 for MLX and unreadable headers).
    public var kvCacheBytes: Int64
    /// How it was computed, for the status message.
    public var detail: String

    /// The most bytes a part of an estimate counts (2^62): the sum of two never overflows `Int64`.
    static let largest = Double(1 << 62)

    /// The factor an MLX folder's size is multiplied by.
    public static let mlxFactor = 1.25

    /// Bytes per element of llama.cpp cache types (ggml block sizes: q8_0 is 34 bytes per 32 values, ...).
    static let cacheTypeBytes: [String: Double] = [
        "f32": 4, "f16": 2, "bf16": 2, "q8_0": 34.0 / 32, "q4_0": 18.0 / 32, "q4_1": 20.0 / 32,
        "iq4_nl": 18.0 / 32, "q5_0": 22.0 / 32, "q5_1": 24.0 / 32,
    ]

    /// Estimates what `service` needs with its model at `path` (which must exist).
    public static func of(_ service: ResolvedService, format: ModelFormat, path: String) -> MemoryEstimate {
        switch format {
        case .safetensors, .pytorch, .custom:
            // Formats this agent does not serve (entry error FormatNotSupported): weights only.
            let weights = max(fileSize(path), folderSize(path))
            return MemoryEstimate(bytes: weights, weightBytes: weights, kvCacheBytes: 0, detail: "weights \(weights) bytes")
        case .mlx:
            let weights = folderSize(path)
            let total = Int64(Double(weights) * mlxFactor)
            return MemoryEstimate(
                bytes: total, weightBytes: weights, kvCacheBytes: 0,
                detail: "MLX weights \(weights) bytes x \(mlxFactor)")
        case .gguf:
            let weights = fileSize(path)
            do throws(GGUFHeader.ReadError) {
                let header = try GGUFHeader.cached(path: path)
                let context = contextSize(service.service, trainedContext: header.contextLength)
                // spec.cacheTypeK/V (the custom forms included), then extraArgs, which come last on the argv and win.
                let tuning = service.service.tuning
                let k = cacheType(
                    service.service.extraArgs, ["-ctk", "--cache-type-k"],
                    default: tuning.cacheTypeK?.lowercased() ?? "f16")
                let v = cacheType(
                    service.service.extraArgs, ["-ctv", "--cache-type-v"],
                    default: tuning.cacheTypeV?.lowercased() ?? "f16")
                let perToken =
                    Double(header.headCountKV) * (Double(header.keyLength) * (cacheTypeBytes[k] ?? 2) + Double(header.valueLength) * (cacheTypeBytes[v] ?? 2))
                // Saturated at 2^62 bytes (a context of billions of tokens): more than any budget, never a trap.
                let kvExact = (Double(header.blockCount) * Double(max(context, 0)) * perToken).rounded(.up)
                let kv = kvExact.isFinite && kvExact < Self.largest ? Int64(kvExact) : Int64(Self.largest)
                return MemoryEstimate(
                    bytes: min(weights, Int64(Self.largest)) + kv, weightBytes: weights, kvCacheBytes: kv,
                    detail:
                        "weights \(weights) bytes + KV cache \(kv) bytes (\(header.blockCount) layers x \(context) tokens x \(header.headCountKV) KV heads x \(header.keyLength)+\(header.valueLength) dims, \(k)/\(v))"
                )
            } catch {
                return MemoryEstimate(
                    bytes: weights, weightBytes: weights, kvCacheBytes: 0,
                    detail: "weights \(weights) bytes (GGUF header unreadable: \(error.message); KV cache not counted)")
            }
        }
    }

    /// The value of the last `flags` occurrence in `args` (`-ctk q8_0` or `--cache-type-k=q8_0`), default `f16`.
    static func cacheType(_ args: [String], _ flags: [String], default: String = "f16") -> String {
        LlamaServerExecutor.lastValue(of: flags, in: args)?.lowercased() ?? `default`
    }

    /// The context (tokens) llama-server runs with, as it reads its argv: the last `-c`/`--ctx-size` of
    /// `spec.extraArgs` (which come after the agent's own `--ctx-size` and win; a value that is not a
    /// number is not counted: llama-server refuses to start with it), else `spec.contextSize`, else
    /// `LlamaServerExecutor.defaultContextSize`. 0 means the model's training context, `trainedContext`
    /// (llama.cpp: `n_ctx = 0` takes `n_ctx_train`); without one in the header, the default.
    static func contextSize(_ service: InferenceService, trainedContext: Int?) -> Int {
        var context = service.contextSize ?? LlamaServerExecutor.defaultContextSize
        if let text = LlamaServerExecutor.lastValue(of: ["-c", "--ctx-size"], in: service.extraArgs), let number = Int(text), number >= 0 { context = number }
        return context == 0 ? trainedContext ?? LlamaServerExecutor.defaultContextSize : context
    }

    static func fileSize(_ path: String) -> Int64 {
        if case .file(let size) = FileKind.of(path) { size } else { 0 }
    }

    static func folderSize(_ path: String) -> Int64 {
        let names = (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []
        return names.reduce(0) { $0 + fileSize(path + "/" + $1) }
    }
}
