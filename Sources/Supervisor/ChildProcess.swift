import Executors
import Logging
import Subprocess
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One running runtime process, leader of its own process group.
///
/// Spawned with swift-subprocess (`posix_spawn` with `POSIX_SPAWN_SETPGROUP`, pgid = pid), which also
/// reaps it (pidfd + `waitid`), so an exit never leaves a zombie. Stopping signals the whole group, so
/// helpers the runtime forked go too.
final class ChildProcess: Sendable {
    /// Process id, also the process group id.
    let pid: Int32
    private let exit: ExitLatch

    private init(pid: Int32, exit: ExitLatch) {
        self.pid = pid
        self.exit = exit
    }

    /// How it ended, once it has.
    var termination: Termination? { exit.result }

    /// Starts `launch`; its stdout and stderr go, through a pipe the agent reads, to `logPath`,
    /// rotated by `limits`.
    /// - Returns: the running child, or why it could not start.
    static func spawn(_ launch: LaunchDescription, logPath: String, limits: LogLimits) async -> Result<ChildProcess, SpawnError> {
        // Open the log before spawning, so a bad log folder is a clear start error.
        do {
            _ = try RotatingLog(path: logPath, limits: limits)
        } catch {
            return .failure(SpawnError(message: "cannot open log file \(logPath): \(error)"))
        }
        var environment = Environment.inherit
        var overrides: [Environment.Key: String?] = [:]
        for (name, value) in launch.environment {
            if let key = Environment.Key(rawValue: name) { overrides[key] = value }
        }
        environment = environment.updating(overrides)
        var options = PlatformOptions()
        options.processGroupID = 0  // its own group: pgid = pid
        let executable: Executable =
            launch.executable.contains("/") ? .path(FilePath(launch.executable)) : .name(launch.executable)
        let configuration = Configuration(
            executable: executable, arguments: Arguments(launch.arguments), environment: environment,
            platformOptions: options)

        let exit = ExitLatch()
        // Waiting for the pid is deliberately not cancellable: once posix_spawn runs, the process exists,
        // and a caller that gave up here would leak it (a stop during a start used to orphan the runtime).
        let started: Result<Int32, SpawnError> = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int32, SpawnError>, Never>) in
            let once = ResumeOnce(continuation)
            Task {
                do {
                    let result = try await Subprocess.run(
                        configuration, input: .none, output: .sequence, error: .combinedWithOutput
                    ) { execution in
                        once.resume(.success(execution.processIdentifier.value))
                        // Copy the output to the log until the runtime (and every helper holding the
                        // pipe) is gone; swift-subprocess ends the sequence when the process exits.
                        var log = try? RotatingLog(path: logPath, limits: limits)
                        do {
                            for try await buffer in execution.standardOutput {
                                buffer.withUnsafeBytes { bytes in log?.write(bytes) }
                            }
                        } catch {}
                        log = nil
                    }
                    switch result.terminationStatus {
                    case .exited(let code): exit.resolve(.exited(code))
                    case .signaled(let signal): exit.resolve(.signaled(signal))
                    }
                } catch {
                    once.resume(.failure(SpawnError(message: "\(error)")))
                    exit.resolve(.spawnFailed("\(error)"))
                }
            }
        }
        return started.map { ChildProcess(pid: $0, exit: exit) }
    }

    /// Waits at most `timeout` for the process to end; nil when it still runs (or on cancellation).
    func waitForExit(timeout: Duration) async -> Termination? { await exit.wait(timeout: timeout) }

    /// Stops the whole process group: SIGTERM, up to `grace` for the leader to exit, then SIGKILL;
    /// afterwards SIGKILL to whatever is left in the group (helpers that ignored SIGTERM).
    /// Not cancellable: it always finishes, so no process is left behind.
    @discardableResult
    func terminate(grace: Duration, logger: Logger) async -> Termination {
        let pgid = pid
        let exit = self.exit
        return await Task.detached {
            if let done = exit.result {
                _ = killpg(pgid, SIGKILL)
                return done
            }
            _ = killpg(pgid, SIGTERM)
            if let done = await exit.wait(timeout: grace) {
                // The leader exited in time; anything still in its group got the same SIGTERM and goes now.
                _ = killpg(pgid, SIGKILL)
                return done
            }
            logger.warning("process group did not exit within grace period; sending SIGKILL", metadata: ["pgid": "\(pgid)"])
            _ = killpg(pgid, SIGKILL)
            let done = await exit.wait()
            return done ?? .signaled(SIGKILL)
        }.value
    }
}

/// Why a runtime could not be started.
struct SpawnError: Error, Sendable, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Resumes a continuation exactly once, whichever path gets there first.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>

    init(_ continuation: CheckedContinuation<T, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: T) {
        let c = continuation.withLock { c -> CheckedContinuation<T, Never>? in
            defer { c = nil }
            return c
        }
        c?.resume(returning: value)
    }
}
