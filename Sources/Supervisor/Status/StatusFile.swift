#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes the status document atomically: JSON to a temporary file in the same folder, then
/// `rename(2)` over the old one, so a reader sees the old document or the new one, never a mix.
public struct StatusFile: Sendable {
    /// Path of the status file.
    public let path: String

    /// - Parameter path: where the status document is written; its folder is created when missing.
    public init(path: String) {
        self.path = path
    }

    /// Encodes and writes `status`.
    /// A deleted folder is created again; a failed write (disk full) leaves no temporary file and the
    /// old file as it was (see `AtomicFile`).
    /// - Throws: encoding or file-system errors (no permission, disk full, file-size limit).
    public func write(_ status: AgentStatus) throws {
        var encoder = StatusEncoder()
        try write(encoded: encoder.encode(status))
    }

    /// Writes an already encoded document (`StatusEncoder`).
    /// - Throws: file-system errors (no permission, disk full, file-size limit).
    func write(encoded bytes: [UInt8]) throws {
        try AtomicFile.write(Data(bytes), to: path)
    }

    /// Reads and decodes a status file (for `plan` and tests).
    /// - Throws: file or decoding errors.
    public static func read(_ path: String) throws -> AgentStatus {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(AgentStatus.self, from: data)
    }
}
