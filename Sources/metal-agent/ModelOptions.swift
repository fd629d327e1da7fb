import ArgumentParser
import Supervisor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Flags for the model store, downloads and memory admission (`run`).
struct ModelOptions: ParsableArguments {
    @Option(help: "Folder downloaded models are kept in (default: $XDG_CACHE_HOME/metal-agent/models, else ~/.cache/metal-agent/models).")
    var modelStore: String?

    @Option(help: "Memory the running entries may take together, in bytes: 25769803776, 24Gi, 8192Mi (default: --memory-fraction of physical memory).")
    var memoryBudget: String?

    @Option(help: "Share of physical memory the running entries may take together, 0-1 (default 0.75); ignored with --memory-budget.")
    var memoryFraction: Double?

    @Option(help: "An entry over the memory budget: enforce (waits, InsufficientMemory), warn (starts, logs a warning), off.")
    var memoryCheck: String = MemoryCheckMode.enforce.rawValue

    @Option(help: "Attempts per model download before it fails (default 6).")
    var downloadAttempts: Int = DownloadPolicy.standard.attempts

    @Option(help: "Delay before retrying a failed download; doubles per attempt up to 60s (default 1s).")
    var downloadRetryDelay: DurationArgument = DurationArgument(argument: "1s")!

    @Option(help: "A download that receives nothing for this long is dropped and resumed (default 60s).")
    var downloadStallTimeout: DurationArgument = DurationArgument(argument: "60s")!

    /// - Throws: `ValidationError` for a malformed budget, fraction, mode or attempt count.
    func check() throws {
        if let memoryBudget, MemoryBudget.parseBytes(memoryBudget) == nil {
            throw ValidationError("--memory-budget \(memoryBudget) is not a byte quantity (write 25769803776, 24Gi or 8192Mi)")
        }
        if let f = memoryFraction, !(f > 0 && f <= 1) { throw ValidationError("--memory-fraction must be more than 0 and at most 1") }
        guard MemoryCheckMode(rawValue: memoryCheck) != nil else {
            throw ValidationError("--memory-check \(memoryCheck) is not one of \(MemoryCheckMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard downloadAttempts >= 1 else { throw ValidationError("--download-attempts must be at least 1") }
    }

    /// Copies the flags into `options`.
    func apply(to options: inout AgentOptions) {
        if let modelStore { options.modelStore = absolutePath(modelStore) }
        if let memoryBudget, let bytes = MemoryBudget.parseBytes(memoryBudget) {
            options.memoryBudget = bytes
        } else if let memoryFraction {
            options.memoryBudget = Int64(Double(ProcessInfo.processInfo.physicalMemory) * memoryFraction)
        }
        options.memoryCheck = MemoryCheckMode(rawValue: memoryCheck) ?? .enforce
        options.downloadPolicy = DownloadPolicy(
            attempts: downloadAttempts, initialDelay: downloadRetryDelay.duration, stallTimeout: downloadStallTimeout.duration)
    }
}
