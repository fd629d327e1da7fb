import ConfigModel

/// A runtime binary's version, as its `--version` output (or its Python package) tells it.
///
/// llama.cpp prints `version: 6325 (0123abcd)` (the build number, `b6325` in release names, and the
/// commit), and newer builds `version: 0.6.0-dev (build 11434, commit b11434)`; `mlx_lm` is a Python
/// package with a dotted version (`0.32.2`). Executors use it to spell
/// each flag the way that build accepts; nil (unknown) means the newest spelling.
public struct RuntimeVersion: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The line the version was read from, trimmed (shown in the status file's capabilities).
    public var text: String
    /// llama.cpp's build number (`6325` for b6325), when the text has one.
    public var build: Int?
    /// A dotted version (`[0, 32, 2]`), when the text has one and no build number.
    public var dotted: [Int]?

    /// Reads a version from `--version` output (stdout and stderr together) or a stored `text`.
    /// - Returns: nil when no line has a build number or a dotted version.
    public static func parse(_ output: String) -> RuntimeVersion? {
        let lines = output.split(whereSeparator: \.isNewline).map { $0.trimming(charactersIn: " \t") }.filter { !$0.isEmpty }
        // llama.cpp: "version: 6325 (0123abcd)", "version: 0.6.0-dev (build 11434, commit b11434)";
        // release names: "b6325".
        for line in lines {
            let words = line.split(separator: " ").map { $0.trimming(charactersIn: "(),;") }
            for marker in ["build", "version:"] {
                if let i = words.firstIndex(of: marker), i + 1 < words.count, let build = Int(words[i + 1]) {
                    return RuntimeVersion(text: line, build: build, dotted: nil)
                }
            }
            if let word = words.first(where: { $0.first == "b" && $0.count > 1 && Int($0.dropFirst()) != nil }) {
                return RuntimeVersion(text: line, build: Int(word.dropFirst()), dotted: nil)
            }
        }
        for line in lines {
            for word in line.split(whereSeparator: { $0 == " " || $0 == "v" || $0 == "=" }) {
                let parts = word.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count >= 2 else { continue }
                let numbers = parts.map { Int($0.prefix { $0.isNumber }) }
                guard numbers.allSatisfy({ $0 != nil }), let first = parts.first, Int(first) != nil else { continue }
                return RuntimeVersion(text: line, build: nil, dotted: numbers.map { $0! })
            }
        }
        return nil
    }

    /// Creates a version.
    public init(text: String, build: Int? = nil, dotted: [Int]? = nil) {
        self.text = text
        self.build = build
        self.dotted = dotted
    }

    public var description: String { text }
}
