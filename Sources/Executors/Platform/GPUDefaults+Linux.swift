#if !canImport(Darwin)
/// GPU defaults on Linux: no GPU is assumed (the CPU build of llama-server is the common case on a node
/// without one); a Model offloads with `hardware.gpu.layers`.
enum GPUDefaults {
    /// `--n-gpu-layers` when the Model sets none.
    static let layers = 0
}
#endif
