import ConfigModel

/// One runtime the agent can run: how to exec it for a service, and how to probe it.
///
/// Implementations are pure and stateless; adding a runtime is adding one conforming type and
/// listing it in `ExecutorRegistry.standard`.
public protocol RuntimeExecutor: Sendable {
    /// Canonical runtime name, the registry key (e.g. `llama-server`).
    var name: String { get }
    /// Model formats this runtime serves; a service whose model has another format fails with `FormatMismatch`.
    var formats: Set<ModelFormat> { get }
    /// Executable names looked up on PATH when no `--<runtime>-bin` flag is given, in order of preference.
    var defaultBinaryNames: [String] { get }
    /// Flags `launch` may set itself (long and short spellings); `spec.extraArgs` repeating one that
    /// this launch did set gets a warning.
    var managedFlags: Set<String> { get }
    /// One spelling for each flag (`-c` -> `--ctx-size`), so that an extraArgs flag is matched with the
    /// agent's own spelling of it.
    func canonicalFlag(_ flag: String) -> String
    /// Node fields of the CRD (`SpecFields`, class `node`, dotted spec paths without `spec.`) that this
    /// runtime has no setting for; set, they get the entry's `IgnoredField` warning.
    var unsupportedNodeFields: Set<String> { get }
    /// The node fields of `service` this runtime, run from `binary`, has no setting for (default:
    /// `unsupportedNodeFields`); a runtime whose flags depend on the binary narrows it.
    func unsupportedFields(_ service: InferenceService, binary: String) -> Set<String>
    /// The launch description for one service.
    func launch(_ resolved: ResolvedService) -> LaunchDescription
}

extension RuntimeExecutor {
    /// `spec.env` over the executor's own variables.
    func environment(_ base: [String: String], _ service: InferenceService) -> [String: String] {
        var env = base
        for variable in service.env { env[variable.name] = variable.value }
        return env
    }
}

extension RuntimeExecutor {
    /// None by default.
    public var unsupportedNodeFields: Set<String> { [] }
    /// The flag as written.
    public func canonicalFlag(_ flag: String) -> String { flag }
    /// `unsupportedNodeFields`, whatever the binary.
    public func unsupportedFields(_ service: InferenceService, binary: String) -> Set<String> { unsupportedNodeFields }
}
