import ConfigModel
import Crypto

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

/// SHA-256 of files, read in 1 MiB blocks (swift-crypto).
enum FileDigest {
    /// Lower-case hex SHA-256 of the file at `path`, reading at most `limit` bytes when given.
    /// - Throws: `ModelFetchError(.ModelNotFound)` when the file cannot be opened or read.
    static func sha256(path: String, limit: Int64? = nil) throws(ModelFetchError) -> String {
        var hasher = SHA256()
        try update(&hasher, path: path, limit: limit)
        return hex(hasher.finalize())
    }

    /// Feeds the file's first `limit` bytes (all of it when nil) into `hasher`.
    static func update(_ hasher: inout SHA256, path: String, limit: Int64? = nil) throws(ModelFetchError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ModelFetchError(.ModelNotFound, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var remaining = limit ?? Int64.max
        while remaining > 0 {
            let want = Int(min(Int64(buffer.count), remaining))
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, want) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ModelFetchError(.ModelNotFound, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            remaining -= Int64(n)
        }
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        TextFormat.hex(digest)
    }
}
