/// Where a service's runtime came from.
public enum RuntimeSource: String, Sendable, Hashable, Codable {
    /// `spec.runtime` named it.
    case spec
    /// The entry had no `spec.runtime`, so the agent's `--runtime` default applies.
    case `default`
}

/// A service's runtime after resolution.
public struct ResolvedRuntime: Sendable, Hashable {
    /// Canonical runtime name, e.g. `llama-server`.
    public var name: String
    /// Whether `spec.runtime` or the agent's default chose it.
    public var source: RuntimeSource

    /// Creates a resolved runtime.
    public init(name: String, source: RuntimeSource) {
        self.name = name
        self.source = source
    }
}

/// Why a runtime could not be resolved for a service.
public enum RuntimeResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The runtime is known but this node does not enable it (its binary is missing or `--runtimes` left it out).
    case notEnabled(runtime: String, source: RuntimeSource, enabled: [String])
    /// The name is neither a known runtime nor an alias (only reachable through the default).
    case unknown(runtime: String)
    /// A known runtime value (`vllm`, `tgi`, `ollama`, ...) that this agent cannot run.
    case notSupported(runtime: String, supported: [String])

    public var description: String {
        switch self {
        case .notEnabled(let runtime, let source, let enabled):
            let from = source == .spec ? "spec.runtime" : "the agent's default runtime"
            let list = enabled.isEmpty ? "none" : enabled.joined(separator: ", ")
            return "runtime \"\(runtime)\" (from \(from)) is not enabled on this node; enabled: \(list)"
        case .notSupported(let runtime, let supported):
            return
                "runtime \"\(runtime)\" (from spec.runtime) is not one this agent runs; it runs \(supported.joined(separator: ", ")) (llamacpp = llama-server)"
        case .unknown(let runtime):
            return "unknown runtime \"\(runtime)\"; known: \(RuntimeName.known.joined(separator: ", "))"
        }
    }
}

/// Resolves a service's runtime: `spec.runtime` when set (aliases canonicalised), otherwise `defaultRuntime`.
///
/// - Parameters:
///   - service: the entry.
///   - defaultRuntime: the agent's `--runtime` (default `llama-server`); aliases accepted.
///   - enabled: runtimes this node enables; nil skips that check.
/// - Throws: `RuntimeResolutionError.notSupported` for a known runtime this agent cannot run,
///   `.notEnabled` when the resolved runtime is not in `enabled`,
///   `.unknown` when the default is not a known runtime.
public func resolveRuntime(
    _ service: InferenceService, default defaultRuntime: String, enabled: Set<String>? = nil
) throws(RuntimeResolutionError) -> ResolvedRuntime {
    let resolved: ResolvedRuntime
    if let written = service.runtime, !written.isEmpty {
        if RuntimeName.notSupported.contains(written) { throw .notSupported(runtime: written, supported: RuntimeName.known) }
        guard let name = RuntimeName.canonical(written) else { throw .unknown(runtime: written) }
        resolved = ResolvedRuntime(name: name, source: .spec)
    } else {
        guard let name = RuntimeName.canonical(defaultRuntime) else { throw .unknown(runtime: defaultRuntime) }
        resolved = ResolvedRuntime(name: name, source: .default)
    }
    if let enabled, !enabled.contains(resolved.name) {
        throw .notEnabled(runtime: resolved.name, source: resolved.source, enabled: enabled.sorted())
    }
    return resolved
}
