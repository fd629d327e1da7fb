#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SHA-256 digests of local model files, remembered by path, size, modification time, inode and device,
/// so that a restart does not rehash an unchanged 40 GB file. Kept as JSON (`checksums.json` in the model
/// store); a file whose size, mtime, inode or device changed is hashed again.
struct LocalChecksumCache: Sendable {
    /// What identifies one version of a file.
    struct Identity: Codable, Sendable, Hashable {
        var size: Int64
        var mtimeNanoseconds: Int64
        var inode: UInt64
        var device: UInt64
    }

    struct Entry: Codable, Sendable, Hashable {
        var identity: Identity
        var sha256: String
    }

    /// The JSON file.
    let path: String
    private(set) var entries: [String: Entry] = [:]

    /// Loads the cache at `path` (empty when missing or unreadable).
    init(path: String) {
        self.path = path
        if let data = FileManager.default.contents(atPath: path),
            let decoded = try? JSONDecoder().decode([String: Entry].self, from: data)
        {
            entries = decoded
        }
    }

    /// The identity of the file at `path` now, or nil when it cannot be stat'ed.
    static func identity(of path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(
            size: Int64(info.st_size),
            mtimeNanoseconds: Self.mtimeNanoseconds(info),
            inode: UInt64(info.st_ino), device: UInt64(info.st_dev))
    }

    private static func mtimeNanoseconds(_ info: stat) -> Int64 {
        Int64(info.modificationTime.tv_sec) * 1_000_000_000 + Int64(info.modificationTime.tv_nsec)
    }

    /// The remembered digest of `path`, if the file is unchanged since it was hashed.
    func digest(of path: String, identity: Identity) -> String? {
        guard let entry = entries[path], entry.identity == identity else { return nil }
        return entry.sha256
    }

    /// Remembers a digest and writes the file (atomically; failures are ignored: the cache is an optimisation).
    mutating func remember(_ sha256: String, of path: String, identity: Identity) {
        entries[path] = Entry(identity: identity, sha256: sha256)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(entries) else { return }
        try? AtomicFile.write(data, to: self.path)  // creates the folder when it is missing
    }
}
