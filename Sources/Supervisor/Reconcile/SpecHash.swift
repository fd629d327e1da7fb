import Foundation

/// A stable fingerprint of what a service would run, used to tell changed entries from unchanged ones.
///
/// FNV-1a 64-bit over the JSON encoding with sorted keys: the same input gives the same hash in every
/// process and on every machine, so a status file written by one agent can be compared by another.
enum SpecHash {
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
