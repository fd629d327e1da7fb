import Synchronization

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

/// The model shape a GGUF file's header declares, as far as memory estimates need it.
///
/// Format (ggml's `docs/gguf.md`, versions 2 and 3, little-endian): magic `GGUF`, `uint32` version,
/// `uint64` tensor count, `uint64` metadata count, then metadata pairs: key (`uint64` length + UTF-8),
/// `uint32` value type, value. Strings are `uint64` length + bytes; arrays are `uint32` element type,
/// `uint64` count, elements. The keys read are `general.architecture` and, under that architecture's
/// prefix, `block_count`, `embedding_length`, `attention.head_count`, `attention.head_count_kv`,
/// `attention.key_length`, `attention.value_length` and `context_length`. Other values (the tokenizer's
/// token list among them) are skipped without being kept.
public struct GGUFHeader: Sendable, Hashable {
    /// `general.architecture` (`llama`, `qwen2`, ...).
    public var architecture: String
    /// GGUF format version (2 or 3).
    public var version: UInt32
    /// Transformer layers (`ARCH.block_count`).
    public var blockCount: Int
    /// Hidden size (`ARCH.embedding_length`).
    public var embeddingLength: Int
    /// Attention heads (`ARCH.attention.head_count`).
    public var headCount: Int
    /// Key/value heads (`ARCH.attention.head_count_kv`; equals `headCount` when absent, as in llama.cpp).
    public var headCountKV: Int
    /// Per-head key size (`ARCH.attention.key_length`; `embeddingLength / headCount` when absent).
    public var keyLength: Int
    /// Per-head value size (`ARCH.attention.value_length`; `embeddingLength / headCount` when absent).
    public var valueLength: Int
    /// Training context (`ARCH.context_length`), when given.
    public var contextLength: Int?

    /// Why a header could not be read.
    /// The largest layer, head or embedding count a header may give (2^20): more is a damaged header.
    public static let largestCount = 1 << 20

    public struct ReadError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Reads the header of the GGUF file at `path`.
    /// - Throws: `ReadError` when the file is not GGUF (version 2 or 3), is truncated, or lacks the counts.
    public static func read(path: String) throws(ReadError) -> GGUFHeader {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var reader = Reader(fd: fd, path: path)
        return try parse(&reader)
    }

    /// The header of the GGUF file at `path`, read once per version of the file: the opened file's
    /// device, inode, size, modification and status-change times (`fstat`), so entries that share a
    /// model, and every restart of an entry, reuse it. A real model's header holds its tokenizer (a few
    /// MB to parse); 1,000 entries of one model read it once, not 1,000 times. A file that cannot be
    /// opened is not remembered (a permission fixed later is seen at the next start); a header that
    /// cannot be parsed is, until the file changes.
    /// - Throws: `ReadError`, as `read(path:)`.
    public static func cached(path: String) throws(ReadError) -> GGUFHeader {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            var reader = Reader(fd: fd, path: path)
            return try parse(&reader)
        }
        let key = CacheKey(
            path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modified: Self.nanoseconds(info.modificationTime), changed: Self.nanoseconds(info.changeTime))
        if let known = cache.withLock({ $0[key] }) { return try known.get() }
        let result: Result<GGUFHeader, ReadError>
        do throws(ReadError) {
            var reader = Reader(fd: fd, path: path)
            result = .success(try parse(&reader))
        } catch {
            result = .failure(error)
        }
        cache.withLock { entries in
            // Versions of files no longer asked for are dropped now and then; a node has few model files.
            if entries.count >= 256 { entries.removeAll() }
            entries[key] = result
        }
        return try result.get()
    }

    private static func nanoseconds(_ time: timespec) -> Int64 { Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec) }

    private struct CacheKey: Hashable, Sendable {
        var path: String
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var changed: Int64
    }
    private static let cache = Mutex<[CacheKey: Result<GGUFHeader, ReadError>]>([:])

    /// Reads a header from bytes in memory (for tests and tools).
    public static func parse(bytes: [UInt8]) throws(ReadError) -> GGUFHeader {
        var reader = Reader(bytes: bytes)
        return try parse(&reader)
    }

    private static func parse(_ r: inout Reader) throws(ReadError) -> GGUFHeader {
        let magic = try r.bytes(4)
        guard magic == Array("GGUF".utf8) else { throw ReadError(message: "\(r.path): not a GGUF file (no GGUF magic)") }
        let version = try r.u32()
        guard version == 2 || version == 3 else { throw ReadError(message: "\(r.path): GGUF version \(version) is not supported (2 or 3)") }
        _ = try r.u64()  // tensors
        let count = try r.u64()
        guard count < 1_000_000 else { throw ReadError(message: "\(r.path): \(count) metadata entries; not a sane header") }
        var ints: [String: Int] = [:]
        var architecture: String?
        for _ in 0..<count {
            let key = try r.string()
            let type = try r.u32()
            if key == "general.architecture", type == 8 {
                architecture = try r.string()
            } else if let value = try r.integer(type: type) {
                ints[key] = value
            } else {
                try r.skip(type: type, depth: 0)
            }
        }
        guard let arch = architecture else { throw ReadError(message: "\(r.path): no general.architecture") }
        func need(_ key: String) throws(ReadError) -> Int {
            guard let v = ints["\(arch).\(key)"], v > 0 else { throw ReadError(message: "\(r.path): no \(arch).\(key)") }
            return try sane(key, v)
        }
        // Counts beyond any real model (the largest have a few hundred layers, heads and KV heads, and
        // embeddings of tens of thousands) are a damaged or hostile header; a KV cache computed from them
        // would overflow. 0 KV heads is a model without attention KV cache (Mamba-style).
        func sane(_ key: String, _ v: Int) throws(ReadError) -> Int {
            guard (0...Self.largestCount).contains(v) else {
                throw ReadError(message: "\(r.path): \(arch).\(key) = \(v); not a sane header (0...\(Self.largestCount))")
            }
            return v
        }
        let blocks = try need("block_count")
        let embedding = try need("embedding_length")
        let heads = try need("attention.head_count")
        let kv = try sane("attention.head_count_kv", ints["\(arch).attention.head_count_kv"] ?? heads)
        let headDim = embedding / heads
        return GGUFHeader(
            architecture: arch, version: version, blockCount: blocks, embeddingLength: embedding, headCount: heads,
            headCountKV: kv, keyLength: try sane("attention.key_length", ints["\(arch).attention.key_length"] ?? headDim),
            valueLength: try sane("attention.value_length", ints["\(arch).attention.value_length"] ?? headDim),
            contextLength: ints["\(arch).context_length"])
    }

    /// Buffered little-endian reader over a file descriptor or bytes in memory.
    private struct Reader {
        var fd: Int32 = -1
        var path = "header"
        var buffer: [UInt8] = []
        var position = 0
        var fromFile: Bool
        /// Where `read(2)` lands, allocated at the first read and reused.
        var chunk: [UInt8] = []
        /// Bytes of the header read or skipped so far.
        var consumed: UInt64 = 0

        /// The most bytes a header may take (128 MiB): real ones, tokenizer included, take a few MB to a
        /// few tens of MB. A larger one is a damaged or hostile file (a string declared 2^34 bytes long),
        /// and reading through it would hold up the agent for minutes.
        static let largestHeader: UInt64 = 128 << 20

        /// Counts `n` more bytes of header, or throws past `largestHeader`.
        mutating func take(_ n: UInt64) throws(ReadError) {
            let (total, overflow) = consumed.addingReportingOverflow(n)
            guard !overflow, total <= Self.largestHeader else {
                throw ReadError(message: "\(path): a header of more than \(Self.largestHeader >> 20) MiB; not a sane header")
            }
            consumed = total
        }

        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            fromFile = true
        }

        init(bytes: [UInt8]) {
            buffer = bytes
            fromFile = false
        }

        mutating func fill(_ n: Int) throws(ReadError) {
            if buffer.count - position >= n { return }
            guard fromFile else { throw ReadError(message: "\(path): truncated header") }
            buffer.removeFirst(position)
            position = 0
            if chunk.count < n { chunk = [UInt8](repeating: 0, count: max(1 << 16, n)) }
            while buffer.count < n {
                let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else { throw ReadError(message: "\(path): truncated header") }
                buffer.append(contentsOf: chunk[0..<got])
            }
        }

        mutating func bytes(_ n: Int) throws(ReadError) -> [UInt8] {
            try take(UInt64(n))
            try fill(n)
            defer { position += n }
            return Array(buffer[position..<position + n])
        }

        mutating func skipBytes(_ n: UInt64) throws(ReadError) {
            try take(n)
            var left = n
            while left > 0 {
                let step = Int(min(left, 1 << 20))
                try fill(step)
                position += step
                left -= UInt64(step)
            }
        }

        mutating func u32() throws(ReadError) -> UInt32 {
            let b = try bytes(4)
            return b.reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func u64() throws(ReadError) -> UInt64 {
            let b = try bytes(8)
            return b.reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func string() throws(ReadError) -> String {
            let n = try u64()
            guard n < 1 << 24 else { throw ReadError(message: "\(path): a string of \(n) bytes; not a sane header") }
            return String(decoding: try bytes(Int(n)), as: UTF8.self)
        }

        /// The value of an integer type (0-7 except 6, and 10-11), or nil for other types (nothing read then).
        mutating func integer(type: UInt32) throws(ReadError) -> Int? {
            switch type {
            case 0: return Int(try bytes(1)[0])
            case 1: return Int(Int8(bitPattern: try bytes(1)[0]))
            case 2:
                let b = try bytes(2)
                return Int(UInt16(b[0]) | UInt16(b[1]) << 8)
            case 3:
                let b = try bytes(2)
                return Int(Int16(bitPattern: UInt16(b[0]) | UInt16(b[1]) << 8))
            case 4: return Int(try u32())
            case 5: return Int(Int32(bitPattern: try u32()))
            case 10: return Int(clamping: try u64())
            case 11: return Int(Int64(bitPattern: try u64()))
            default: return nil
            }
        }

        static func fixedSize(_ type: UInt32) -> Int? {
            switch type {
            case 0, 1, 7: 1
            case 2, 3: 2
            case 4, 5, 6: 4
            case 10, 11, 12: 8
            default: nil
            }
        }

        mutating func skip(type: UInt32, depth: Int) throws(ReadError) {
            if let size = Self.fixedSize(type) {
                try skipBytes(UInt64(size))
                return
            }
            switch type {
            case 8:
                try skipBytes(try u64())
            case 9:
                guard depth < 4 else { throw ReadError(message: "\(path): arrays nested too deep") }
                let element = try u32()
                let n = try u64()
                if let size = Self.fixedSize(element) {
                    let (total, overflow) = n.multipliedReportingOverflow(by: UInt64(size))
                    guard !overflow else { throw ReadError(message: "\(path): array too large") }
                    try skipBytes(total)
                } else {
                    for _ in 0..<n { try skip(type: element, depth: depth + 1) }
                }
            default:
                throw ReadError(message: "\(path): unknown GGUF value type \(type)")
            }
        }
    }
}
