import Logging
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

/// The agent's own output (its log lines on stderr), kept from ever ending the agent.
///
/// Field reports: a `tee` that exits, or a launcher that closes its pipe, made the next log line kill
/// the agent with SIGPIPE (its runtimes went with it); a full disk or a file-size limit (`ulimit -f`)
/// does the same with SIGXFSZ. `ignoreFatalOutputSignals()` turns both into write errors, and
/// `write(_:to:)` handles those: the first failure on a stream stops writing there for good (each
/// further line would fail the same way), and is reported once, in `warnings`, which the status file
/// shows. Runtimes are unaffected: each is spawned with every signal at its default.
public final class AgentOutput: Sendable {
    /// The process-wide instance (stdout and stderr are process-wide too).
    public static let shared = AgentOutput()

    private struct State {
        var failed: [Int32: String] = [:]
        var warnings: [String] = []
        var listeners: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    /// Creates an instance with no failures (tests use their own).
    public init() {}

    /// Sets SIGPIPE and SIGXFSZ to ignored for this process: a write to a closed pipe or socket then
    /// fails with `EPIPE`, and one past a file-size limit with `EFBIG`, instead of killing the agent.
    public static func ignoreFatalOutputSignals() {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
    }

    /// Problems with the agent's own output so far, one line each, in the order they happened.
    public var warnings: [String] { state.withLock { $0.warnings } }

    /// Records an agent-level problem (once per distinct text) and tells the listeners.
    public func warn(_ text: String) {
        let listeners = state.withLock { s -> [@Sendable () -> Void] in
            guard !s.warnings.contains(text) else { return [] }
            s.warnings.append(text)
            return s.listeners
        }
        for listener in listeners { listener() }
    }

    /// Calls `listener` after each new warning (the status store rewrites the file).
    public func onWarning(_ listener: @escaping @Sendable () -> Void) {
        state.withLock { $0.listeners.append(listener) }
    }

    /// Writes all of `text` to `fd` (1 or 2), unless an earlier write there failed.
    ///
    /// A failure (`EPIPE`: nobody reads the pipe any more; `ENOSPC`, `EFBIG`, `EIO`) stops all further
    /// writes to `fd` and adds one warning naming the stream and the error. `EAGAIN` on a
    /// non-blocking stream drops this text only.
    /// - Returns: false when the text was not written.
    @discardableResult
    public func write(_ text: String, to fd: Int32) -> Bool {
        if state.withLock({ $0.failed[fd] != nil }) { return false }
        let failure = Array(text.utf8).withUnsafeBytes { writeAll(fd, $0) }
        guard failure != 0 else { return true }
        if failure == EAGAIN || failure == EWOULDBLOCK { return false }
        let name = fd == 1 ? "stdout" : fd == 2 ? "stderr" : "fd \(fd)"
        let message = "the agent's \(name) cannot be written (\(String(cString: strerror(failure)))); its log lines are no longer written there"
        let first = state.withLock { s -> Bool in
            guard s.failed[fd] == nil else { return false }
            s.failed[fd] = message
            return true
        }
        if first { warn(message) }
        return false
    }
}
