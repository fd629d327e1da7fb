import ArgumentParser

/// `metal-agent`: supervises local LLM inference servers described by a `models.yaml`.
@main
struct MetalAgent: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "metal-agent",
        abstract: "Supervise local LLM inference servers (llama-server, mlx-server) from a models.yaml.",
        discussion: """
            Each InferenceService entry picks its runtime with spec.runtime; entries without one use --runtime.
            Examples:
              metal-agent --config models.yaml
              metal-agent run --config models.yaml --runtime mlx-server --log-dir /var/log/metal-agent
              metal-agent validate --config models.yaml
            """,
        version: version,
        subcommands: [Run.self, Validate.self],
        defaultSubcommand: Run.self
    )
}
