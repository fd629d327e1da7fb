import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the tests read of other processes in `/proc` (Linux; proc(5)): the one copy the test targets
/// share. Every answer is a snapshot.
public enum ProcFS {
    /// True while `pid` is a live process (not a zombie); where `/proc` cannot tell, `kill(pid, 0)`.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard let fields = statFields(pid) else { return kill(pid, 0) == 0 }
        return fields.first != "Z" && fields.first != "X"
    }

    /// The session id of `pid` (`stat` field 6), nil when it is gone.
    public static func sessionID(of pid: Int32) -> Int32? {
        guard let fields = statFields(pid), fields.count > 3 else { return nil }
        return Int32(fields[3])
    }

    /// The command line of `pid` with its arguments joined by spaces, nil when it is gone.
    public static func commandLine(of pid: Int32) -> String? {
        guard let bytes = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// Every pid `/proc` lists now.
    public static func pids() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// The fields of `/proc/<pid>/stat` after "pid (comm)": state first (field 3).
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }
}
