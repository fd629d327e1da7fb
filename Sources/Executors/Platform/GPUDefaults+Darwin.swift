#if canImport(Darwin)
/// GPU defaults on macOS: Apple Silicon runs llama.cpp on Metal with unified memory, so every layer is
/// offloaded unless the Model says otherwise (llama-server's `-ngl 999` means "all").
enum GPUDefaults {
    /// `--n-gpu-layers` when the Model sets none.
    static let layers = 999
}
#endif
