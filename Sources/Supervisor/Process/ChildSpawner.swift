import CProcessControl

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

/// Starts a `ChildProcess.Command` with `posix_spawn` (`metal_agent_spawn`: own process group, default
/// signals, stdin from the lifeline, stdout and stderr to a pipe, every other descriptor closed) and
/// hands its output and its exit to the agent's one `OutputPump` thread, which reaps it through its
/// pidfd. Used on Linux; macOS and the portable build spawn with swift-subprocess.
///
/// Why not swift-subprocess here: its `run` keeps, for the whole life of every process it starts, a
/// task that wakes up every second (`withAsyncTaskCleanupHandler` in swift-subprocess 1.0.2), so 100
/// idle runtimes cost the agent 100 wake-ups (timer, task switch, thread wake) a second, most of its
/// idle CPU (issue 12). Here an idle runtime costs nothing until it writes or exits.
enum ChildSpawner {
    /// Spawns `command`; its output goes to the log at `logPath` (rotated by `limits`) and to `tail`.
    /// Closes the command's `guardSide` (the child has it as stdin). Once the process has exited, has
    /// been reaped and its output read to the end, calls `onExit` with its pid and how it ended.
    /// - Returns: the pid, or why it could not be started (no such executable, no permission).
    static func start(
        _ command: ChildProcess.Command, logPath: String, limits: LogLimits, tail: OutputTail,
        onExit: @escaping @Sendable (pid_t, Termination) -> Void
    ) -> Result<pid_t, SpawnError> {
        defer { if command.guardSide >= 0 { close(command.guardSide) } }
        let pipe: (read: Int32, write: Int32)
        do {
            pipe = try OutputPump.makePipe()
        } catch {
            return .failure(SpawnError(message: "\(error)"))
        }
        var pid: pid_t = 0
        let environment = command.environment.map { "\($0.key)=\($0.value)" }
        let rc = withCStrings(command.arguments) { argv in
            withCStrings(environment) { envp in
                metal_agent_spawn(command.executable, command.search ? 1 : 0, argv, envp, command.guardSide, pipe.write, 1, &pid)
            }
        }
        close(pipe.write)
        guard rc == 0 else {
            close(pipe.read)
            return .failure(SpawnError(message: "cannot execute \(command.executable): \(String(cString: strerror(rc)))"))
        }
        let drained = OutputPump.shared.copy(pipe.read, toLog: logPath, limits: limits, tail: tail)
        let spawned = pid
        OutputPump.shared.reap(spawned) { termination in
            // Its helpers may hold the pipe long after (until the sweep takes them): read what it wrote, and stop.
            OutputPump.shared.finish(drained)
            Task {
                await drained.wait()
                onExit(spawned, termination)
            }
        }
        return .success(spawned)
    }

    /// Calls `body` with a NULL-terminated array of C strings copied from `strings`.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let copies = strings.map { strdup($0) } + [nil]
        defer { for copy in copies { free(copy) } }
        return body(copies)
    }
}
