/// The bytes of a YAML file seen as lines, for the checks libyaml does not make or does not explain:
/// byte-order marks between documents, and tabs in indentation.
///
/// Line breaks are `\n`, `\r\n` and `\r`, as libyaml counts them; columns count Unicode scalars
/// (UTF-8 lead bytes), 1-based, as `SourceMark` does.
struct SourceText {
    /// The UTF-8 bytes.
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// U+FEFF in UTF-8.
    static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// `bytes` without the byte-order marks YAML 1.2 allows (at the start of the stream and at the
    /// start of every document), so libyaml, which skips only the first, sees none of them.
    ///
    /// A BOM at the start of a line starts a document when only comment or blank lines come between
    /// it and a `---` (or `%` directive) line, or the end of the file, or when the last line before it
    /// that is not blank or a comment is the previous document's `...` (YAML 1.2.2, 9.2
    /// `l-yaml-stream`: `l-document-prefix` is `c-byte-order-mark? l-comment*`). Removing one leaves
    /// every line number as it was.
    /// - Throws: `YAMLSyntaxError` at the first BOM anywhere else (inside a document, where YAML 1.2
    ///   forbids it).
    static func removingDocumentPrefixBOMs(_ bytes: [UInt8]) throws(YAMLSyntaxError) -> [UInt8] {
        // UTF-16 (libyaml reads it when the stream starts with its BOM): nothing to do here.
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) { return bytes }
        var out: [UInt8] = []
        var copied = 0
        var text: SourceText?
        var lines: [Range<Int>] = []
        var lineIndex = 0
        var i = 0
        while i + 2 < bytes.count {
            guard bytes[i] == 0xEF, bytes[i + 1] == 0xBB, bytes[i + 2] == 0xBF else {
                i += 1
                continue
            }
            if text == nil {
                text = SourceText(bytes)
                lines = text!.lines
                out.reserveCapacity(bytes.count)
            }
            let source = text!
            let atLineStart = i == 0 || bytes[i - 1] == 0x0A || bytes[i - 1] == 0x0D
            // BOMs are met in order, so the line that holds this one is at or after the last one's.
            while lineIndex + 1 < lines.count, lines[lineIndex].upperBound < i { lineIndex += 1 }
            guard atLineStart, i == 0 || source.documentStarts(lines, from: lineIndex, skipping: 3) || source.documentEnded(lines, before: lineIndex) else {
                let hint =
                    atLineStart
                    ? "; to start a new document there, put a line \"---\" right after it (were two files joined with cat?)"
                    : "; remove it (editors often do not show it)"
                throw YAMLSyntaxError(
                    message: "byte-order mark (U+FEFF) inside a document; YAML allows one only at the start of a document\(hint)",
                    mark: source.mark(at: i))
            }
            out += bytes[copied..<i]
            i += 3
            copied = i
        }
        if text == nil { return bytes }
        out += bytes[copied...]
        return out
    }

    /// The position of byte `offset`.
    func mark(at offset: Int) -> SourceMark {
        var line = 1
        var column = 1
        var i = 0
        while i < offset {
            let b = bytes[i]
            if b == 0x0D {
                if i + 1 < offset, bytes[i + 1] == 0x0A { i += 1 }
                line += 1
                column = 1
            } else if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return SourceMark(line: line, column: column)
    }

    /// The byte ranges of every line, without their line breaks.
    var lines: [Range<Int>] {
        var result: [Range<Int>] = []
        var start = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A || bytes[i] == 0x0D {
                result.append(start..<i)
                if bytes[i] == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
                start = i + 1
            }
            i += 1
        }
        result.append(start..<bytes.count)
        return result
    }

    /// Blank, or only a comment.
    private func isBlankOrComment(_ line: Range<Int>) -> Bool {
        let first = bytes[line].first { $0 != 0x20 && $0 != 0x09 }
        return first == nil || first == UInt8(ascii: "#")
    }

    /// True when `marker` (`---` or `...`) begins the line, followed by white space or nothing.
    private func starts(_ line: Range<Int>, with marker: String) -> Bool {
        let m = Array(marker.utf8)
        guard bytes[line].starts(with: m) else { return false }
        let next = line.lowerBound + m.count
        return next >= line.upperBound || bytes[next] == 0x20 || bytes[next] == 0x09
    }

    /// Only blank and comment lines from line `index` (its first `skip` bytes left out) to a `---` or
    /// `%` line, or to the end of the file.
    private func documentStarts(_ lines: [Range<Int>], from index: Int, skipping skip: Int) -> Bool {
        for k in index..<lines.count {
            let line = k == index ? min(lines[k].lowerBound + skip, lines[k].upperBound)..<lines[k].upperBound : lines[k]
            if starts(line, with: "---") || bytes[line].first == UInt8(ascii: "%") { return true }
            if !isBlankOrComment(line) { return false }
        }
        return true
    }

    /// The last line before line `index` that is not blank or a comment is a document end marker `...`.
    private func documentEnded(_ lines: [Range<Int>], before index: Int) -> Bool {
        for line in lines[..<index].reversed() {
            if starts(line, with: "...") { return true }
            if !isBlankOrComment(line) { return false }
        }
        return false
    }

    /// `error` with a message that says "tab" when a tab in the indentation (or right where libyaml
    /// stopped) caused it, pointing at that tab. libyaml says "found character that cannot start any
    /// token" for most of these, which does not tell the reader what to fix.
    func explainingTabs(_ error: YAMLSyntaxError) -> YAMLSyntaxError {
        let all = lines
        guard error.mark.line >= 1, error.mark.line <= all.count else { return error }
        let line = all[error.mark.line - 1]
        // The byte at the error's column.
        var column = 1
        var at = line.lowerBound
        while at < line.upperBound, column < error.mark.column {
            at += 1
            while at < line.upperBound, bytes[at] & 0xC0 == 0x80 { at += 1 }
            column += 1
        }
        var tab: Int?
        if at < line.upperBound, bytes[at] == 0x09 {
            tab = at
        } else {
            let indentation = bytes[line].prefix { $0 == 0x20 || $0 == 0x09 }
            if let first = indentation.firstIndex(of: 0x09) { tab = first }
        }
        guard let tab else { return error }
        return YAMLSyntaxError(
            message: "a tab character used as indentation; YAML indents with spaces only, replace it with spaces (libyaml: \(error.message))",
            mark: mark(at: tab))
    }
}
