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

/// An entry's log files: the current run's (`<name>.log`, rotated to `<name>.log.1`, `.2`, ... by
/// `RotatingLog`) and the run before the last restart's (`<name>.previous.log`, `.previous.log.1`, ...),
/// which are kept, as kubelet keeps a container's previous log for `kubectl logs --previous`.
public struct LogFiles: Sendable, Hashable {
    /// The current log file, `<log-dir>/<name>.log` (the status file's `logFile`).
    public let path: String

    /// - Parameter path: the entry's current log file.
    public init(path: String) {
        self.path = path
    }

    /// `<name>.previous.log` beside `path`.
    public var previousPath: String {
        (path.hasSuffix(".log") ? String(path.dropLast(4)) : path) + ".previous.log"
    }

    /// The existing files of the current run (or, with `previous`, of the run before), oldest first.
    public func files(previous: Bool = false) -> [String] {
        let base = previous ? previousPath : path
        var rotated: [String] = []
        var k = 1
        while FileManager.default.fileExists(atPath: "\(base).\(k)") {
            rotated.append("\(base).\(k)")
            k += 1
        }
        return rotated.reversed() + (FileManager.default.fileExists(atPath: base) ? [base] : [])
    }

    /// The last `count` lines (all with nil) of the current run's output (or the previous run's), across
    /// rotated files, as bytes.
    public func tail(lines count: Int?, previous: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        var newlines = 0
        // Newest file first, prepending, until enough lines are read.
        for file in files(previous: previous).reversed() {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            out = [UInt8](data) + out
            newlines += data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            if let count, newlines > count { break }
        }
        guard let count else { return out }
        if count == 0 { return [] }
        // Keep what follows the (count+1)-th newline from the end (a last line without newline counts).
        var seen = 0
        var index = out.endIndex
        if out.last == 0x0A { index -= 1 }
        while index > out.startIndex {
            index -= 1
            if out[index] == 0x0A {
                seen += 1
                if seen == count { return Array(out[(index + 1)...]) }
            }
        }
        return out
    }

    /// Moves the current run's files to the previous run's names (replacing those), before a new run of
    /// the entry writes `path`. Nothing happens when the current log is missing or empty.
    public func keepPreviousRun() {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0 else { return }
        for old in files(previous: true) { unlink(old) }
        let current = files()
        for (index, file) in current.dropLast().reversed().enumerated() {
            rename(file, "\(previousPath).\(index + 1)")
        }
        rename(path, previousPath)
    }
}
