import Executors
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A stable fingerprint of what a service would run, used to tell changed entries from unchanged ones.
///
/// FNV-1a 64-bit over the JSON encoding with sorted keys: the same input gives the same hash in every
/// process and on every machine, so a status file written by one agent can be compared by another.
enum SpecHash {
    /// Hashes already computed, looked up by the value itself (comparing values costs a fraction of
    /// encoding them): a re-read of a 1,000-entry file re-hashes only the entries that changed.
    /// Keeps the values hashed by the last two rounds (`nextRound`), so it never grows past the config.
    final class Memo: Sendable {
        private let state = Mutex<(current: [LaunchDescription: String], previous: [LaunchDescription: String])>(([:], [:]))

        init() {}

        /// `SpecHash.of(launch)`, from the memo when it has it.
        func of(_ launch: LaunchDescription) -> String {
            if let known = state.withLock({ s in s.current[launch] ?? s.previous[launch] }) {
                state.withLock { $0.current[launch] = known }
                return known
            }
            let hash = SpecHash.of(launch)
            state.withLock { $0.current[launch] = hash }
            return hash
        }

        /// Starts a round: values not hashed in this round or the one before are forgotten.
        func nextRound() {
            state.withLock { s in
                s.previous = s.current
                s.current = [:]
            }
        }
    }

    static func of<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
