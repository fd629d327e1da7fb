import Synchronization

/// The last lines a runtime wrote (stdout and stderr together), kept in memory so that a runtime that
/// ends before it is Ready can say why in the status `message`, not only in its log.
///
/// Keeps at most `maxLines` lines, each cut to `maxLineBytes`; bytes after the last line break are
/// kept as a partial line. Fed by the one task that reads the runtime's output; read by its
/// supervision loop once the runtime has exited (what it wrote is read before the exit is
/// reported), so the lock is never contended.
final class OutputTail: Sendable {
    /// Lines kept.
    static let maxLines = 40
    /// Bytes kept of one line.
    static let maxLineBytes = 2048
    /// Longest telling line put in a status message, in characters.
    static let maxMessageCharacters = 300

    private struct State {
        var lines: [[UInt8]] = []
        var partial: [UInt8] = []
    }

    private let state = Mutex(State())

    init() {}

    /// Adds output bytes.
    func append(_ bytes: UnsafeRawBufferPointer) {
        state.withLock { s in
            for byte in bytes {
                if byte == 0x0A || byte == 0x0D {
                    if !s.partial.isEmpty {
                        s.lines.append(s.partial)
                        s.partial = []
                        if s.lines.count > Self.maxLines { s.lines.removeFirst(s.lines.count - Self.maxLines) }
                    }
                } else if s.partial.count < Self.maxLineBytes {
                    s.partial.append(byte)
                }
            }
        }
    }

    /// The non-blank lines kept, oldest first (a last line without a line break included).
    var lines: [String] {
        state.withLock { s in
            (s.lines + (s.partial.isEmpty ? [] : [s.partial]))
                .map { String(decoding: $0, as: UTF8.self).trimmingWhitespace() }
                .filter { !$0.isEmpty }
        }
    }

    /// The line that most likely says why the runtime ended: the last one that looks like an error
    /// (see `looksLikeAnError`), else the last line; cut to `maxMessageCharacters`. nil when the
    /// runtime wrote nothing.
    var tellingLine: String? {
        let all = lines
        guard let line = all.last(where: Self.looksLikeAnError) ?? all.last else { return nil }
        return line.count > Self.maxMessageCharacters ? String(line.prefix(Self.maxMessageCharacters - 1)) + "…" : line
    }

    /// Words with which llama-server (`error:`, `failed to`, `invalid argument`), Python
    /// (`Traceback`, `...Error:`) and system calls (`Address already in use`, `No such file`) report
    /// a failure; case-insensitive.
    static let errorWords = [
        "error", "fail", "invalid", "unknown", "unrecognized", "cannot", "can't", "could not", "couldn't",
        "unable", "not found", "no such", "denied", "in use", "fatal", "abort", "panic", "exception",
        "traceback", "killed", "out of memory",
    ]

    /// True when `line` contains one of `errorWords`.
    static func looksLikeAnError(_ line: String) -> Bool {
        let lower = line.lowercased()
        return errorWords.contains { lower.contains($0) }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
