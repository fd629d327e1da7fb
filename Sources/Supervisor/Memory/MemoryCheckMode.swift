/// What memory admission does with an entry over budget (`--memory-check`).
public enum MemoryCheckMode: String, Sendable, Hashable, CaseIterable {
    /// The entry waits (`Pending`, reason `InsufficientMemory`) until enough memory is free. The default.
    case enforce
    /// The entry starts anyway; a warning is logged.
    case warn
    /// No estimate is compared.
    case off
}
