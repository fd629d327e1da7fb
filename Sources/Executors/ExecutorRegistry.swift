import ConfigModel

/// The runtimes this build knows, keyed by canonical runtime name.
public struct ExecutorRegistry: Sendable {
    private let executors: [String: any RuntimeExecutor]

    /// - Precondition: names are unique.
    public init(_ executors: [any RuntimeExecutor]) {
        self.executors = Dictionary(uniqueKeysWithValues: executors.map { ($0.name, $0) })
    }

    /// llama-server and mlx-server.
    public static let standard = ExecutorRegistry([LlamaServerExecutor(), MLXServerExecutor()])

    /// The executor for a runtime name; aliases (`llamacpp`) are accepted.
    public func executor(for runtime: String) -> (any RuntimeExecutor)? {
        executors[RuntimeName.canonical(runtime) ?? runtime]
    }

    /// Every registered runtime name, sorted.
    public var runtimeNames: [String] { executors.keys.sorted() }
}
