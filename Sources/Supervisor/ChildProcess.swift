import Executors
import Logging
import Subprocess
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
    private let runner: Task<Void, Never>

    private init(pid: Int32, exit: ExitLatch, runner: Task<Void, Never>) {
        self.pid = pid
        self.exit = exit
        self.runner = runner
    }

    /// How it ended, once it has.
    var termination: Termination? { exit.result }

    /// Starts `launch` with stdout and stderr appended to `logPath`.
    /// - Returns: the running child, or a `.spawnFailed` termination when exec failed.
    static func spawn(_ launch: LaunchDescription, logPath: String) async -> Result<ChildProcess, SpawnError> {
        let log: FileDescriptor
        do {
            log = try FileDescriptor.open(
                FilePath(logPath), .writeOnly, options: [.append, .create, .closeOnExec],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
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
        let (pids, pidContinuation) = AsyncStream<Result<Int32, SpawnError>>.makeStream()
        let runner = Task {
            do {
                // The agent keeps its copy of the log descriptor (close-on-exec, so no other child
                // inherits it) and closes it once this child is gone, on every path.
                defer { try? log.close() }
                let result = try await Subprocess.run(
                    configuration, input: .none, output: .fileDescriptor(log, closeAfterSpawningProcess: false),
                    error: .combinedWithOutput
                ) { execution in
                    pidContinuation.yield(.success(execution.processIdentifier.value))
                    pidContinuation.finish()
                }
                switch result.terminationStatus {
                case .exited(let code): exit.resolve(.exited(code))
                case .signaled(let signal): exit.resolve(.signaled(signal))
                }
            } catch {
                pidContinuation.yield(.failure(SpawnError(message: "\(error)")))
                pidContinuation.finish()
                exit.resolve(.spawnFailed("\(error)"))
            }
        }
        var iterator = pids.makeAsyncIterator()
        switch await iterator.next() {
        case .success(let pid):
            return .success(ChildProcess(pid: pid, exit: exit, runner: runner))
        case .failure(let error):
            return .failure(error)
        case nil:
            return .failure(SpawnError(message: "spawn was cancelled"))
        }
    }

    /// Waits for the process to end; nil when the calling task is cancelled first.
    func waitForExit() async -> Termination? { await exit.wait() }

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

    /// Sends a signal to the leader only.
    func signal(_ signal: Int32) { _ = kill(pid, signal) }
}

/// Why a runtime could not be started.
struct SpawnError: Error, Sendable, CustomStringConvertible {
    var message: String
    var description: String { message }
}
