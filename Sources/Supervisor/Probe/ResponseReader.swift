#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Parses an HTTP/1.x response incrementally: status line, headers, then a body framed by
/// `Content-Length`, `chunked`, or the end of the stream; stops once `HTTPProber.maxBody` body bytes are in.
struct ResponseReader {
    private var head: [UInt8] = []
    private var raw: [UInt8] = []  // body bytes as sent (still chunk-framed when chunked)
    private(set) var status: Int?
    private(set) var error: String?
    private var contentLength: Int?
    private var chunked = false
    private var headDone = false
    private var ended = false

    /// The body read so far (chunk framing removed).
    var body: [UInt8] { chunked ? Self.unchunk(raw).bytes : raw }

    /// True once the whole answer (or enough of it) is in.
    var isComplete: Bool {
        if ended || error != nil { return true }
        guard headDone else { return false }
        if raw.count >= HTTPProber.maxBody + 64 { return true }
        if chunked { return Self.unchunk(raw).complete || body.count >= HTTPProber.maxBody }
        if let contentLength { return raw.count >= contentLength }
        return false
    }

    mutating func endOfStream() { ended = true }

    mutating func add(_ bytes: ArraySlice<UInt8>) {
        if headDone {
            raw += bytes
            return
        }
        head += bytes
        guard let end = Self.find([13, 10, 13, 10], in: head) else {
            if head.count > 65536 { error = "headers too long" }
            return
        }
        raw = Array(head[(end + 4)...])
        let lines = String(decoding: head[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        headDone = true
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
            error = "not an HTTP status line: \(lines.first ?? "")"
            return
        }
        status = code
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingBlanks()
            if name == "content-length" { contentLength = Int(value) }
            if name == "transfer-encoding", value.lowercased().contains("chunked") { chunked = true }
        }
        if status == 204 || status == 304 || (100..<200).contains(code) { contentLength = 0 }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    /// Removes chunk framing; `complete` once the last (zero-size) chunk was seen.
    private static func unchunk(_ raw: [UInt8]) -> (bytes: [UInt8], complete: Bool) {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find([13, 10], in: Array(raw[i...])).map({ $0 + i }) else { return (out, false) }
            let sizeText = String(decoding: raw[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingBlanks(), radix: 16) else { return (out, true) }
            if size == 0 { return (out, true) }
            let start = lineEnd + 2
            let available = min(size, raw.count - start)
            out += raw[start..<(start + max(available, 0))]
            if available < size { return (out, false) }
            i = start + size + 2
            if i > raw.count { return (out, false) }
        }
    }
}
