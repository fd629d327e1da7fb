import ConfigModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How far a model download has come: the status file's `download` object of an entry that waits for it.
public struct DownloadProgress: Sendable, Hashable, Codable {
    /// What is downloaded (the URL, or `hf://OWNER/REPO@REV` for a whole repository).
    public var source: String
    /// Bytes on disk so far (a resumed download counts what the `.partial` already held).
    public var bytesDone: Int64
    /// The whole size in bytes, when the server said (`Content-Length` / `Content-Range`); nil otherwise.
    public var bytesTotal: Int64?
    /// Average bytes per second over the current connection.
    public var bytesPerSecond: Int64

    /// Creates a progress record.
    public init(source: String, bytesDone: Int64, bytesTotal: Int64?, bytesPerSecond: Int64) {
        self.source = source
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.bytesPerSecond = bytesPerSecond
    }

    /// Whole percent done (0-100), when the total is known.
    public var percent: Int? {
        guard let total = bytesTotal, total > 0 else { return nil }
        return Int(min(100, bytesDone * 100 / total))
    }

    /// `45% (450 MB of 1.0 GB, 12.3 MB/s)`.
    public var summary: String {
        let done = Self.bytes(bytesDone)
        let rate = Self.bytes(bytesPerSecond) + "/s"
        if let total = bytesTotal, let percent {
            return "\(percent)% (\(done) of \(Self.bytes(total)), \(rate))"
        }
        return "\(done) (\(rate))"
    }

    /// Decimal units (kB = 1000 bytes), one decimal above 1 MB.
    static func bytes(_ n: Int64) -> String {
        let value = Double(n)
        if value >= 1e9 { return TextFormat.fixed(value / 1e9, decimals: 1) + " GB" }
        if value >= 1e6 { return TextFormat.fixed(value / 1e6, decimals: 1) + " MB" }
        if value >= 1e3 { return TextFormat.fixed(value / 1e3, decimals: 1) + " kB" }
        return "\(n) B"
    }
}
