import CProcessControl
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts a process straight from the test, the way the agent starts a runtime (`metal_agent_spawn`):
/// signals at their defaults, and no descriptor of the test process but stdin and stdout/stderr.
///
/// Tests run in parallel in one process. A child that kept copies of what other tests have open at
/// that moment would, for its whole life, keep a pipe's read end alive (a write there never fails with
/// EPIPE), a pipe's write end open (a read never sees its end), or an executable open for writing
/// (exec fails with ETXTBSY). Closing in the child before exec leaves no such window.
public enum CleanSpawn {
    /// Starts `arguments[0]` (a path) with `arguments`, the test's environment, stdin from `stdin`
    /// (/dev/null when -1), stdout and stderr to the test's stderr; in a process group of its own
    /// (pgid = pid) when `newGroup`.
    /// - Returns: the child's pid; the caller reaps it.
    /// - Throws: `POSIXError` with posix_spawn's error (ENOENT: no such executable).
    public static func spawn(_ arguments: [String], newGroup: Bool = false, stdin: Int32 = -1) throws -> pid_t {
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0)=\($1)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = metal_agent_spawn(arguments[0], 0, argv, envp, stdin, 2, newGroup ? 1 : 0, &pid)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        return pid
    }
}
