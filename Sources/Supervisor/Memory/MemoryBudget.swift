import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The memory the agent may commit to the entries it runs, and how to read it from the command line.
public enum MemoryBudget {
    /// The default share of physical memory (`--memory-fraction`): 0.75, leaving a quarter to the OS and other programs
    /// (on a Mac with unified memory, the GPU's working set comes out of the same memory).
    public static let defaultFraction = 0.75

    /// Parses a byte quantity (see `ByteQuantity.parse`): `24Gi` is 25769803776.
    public static func parseBytes(_ text: String) -> Int64? { ByteQuantity.parse(text) }
}
