import Dispatch
import Executors
import Logging
import Subprocess
import Synchronization
import SystemPackage

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

/// One running runtime, leader of its own process group, normally through a runtime guard (`metal-agent-guard`).
///
/// Spawned with swift-subprocess (`posix_spawn` with `POSIX_SPAWN_SETPGROUP`, pgid = pid), which also
/// reaps it (pidfd + `waitid`), so an exit never leaves a zombie. With a guard (Linux), the process the
/// agent spawns is `metal-agent guard`, which runs the runtime in the same group, stops it when the
/// agent dies, and exits with the runtime's own status; without one (macOS), the runtime itself.
final class ChildProcess: Sendable {
    /// Process id of what the agent spawned (the guard, or the runtime); also the process group id.
    let pid: Int32
    /// Process id of the runtime itself (equal to `pid` without a guard).
    let runtimePid: Int32
    /// Whether `pid` is a runtime guard (`metal-agent-guard`), which then carries out stops itself.
    let guarded: Bool
    /// Who `pid` was when it was spawned (nil if it had already exited then): every later signal to it,
    /// or to its process group, is checked against this, because once swift-subprocess has reaped it
    /// its pid may belong to a stranger.
    let leader: ProcessIdentity?
    /// Who the runtime under a guard was when it started (nil without a guard).
    let runtime: ProcessIdentity?
    private let exit: ExitLatch
    /// The last lines of the runtime's output (complete once `termination` is set).
    let output: OutputTail
    /// Why the runtime's log file cannot be written, if it cannot (its output is then dropped).
    let logProblem: String?

    private init(pid: Int32, runtimePid: Int32, guarded: Bool, exit: ExitLatch, output: OutputTail, logProblem: String?) {
        self.pid = pid
        self.runtimePid = runtimePid
        self.runtime = runtimePid == pid ? nil : ProcessIdentity.read(pid: runtimePid)?.0
        self.guarded = guarded
        self.exit = exit
        self.leader = ProcessIdentity.read(pid: pid)?.0
        self.output = output
        self.logProblem = logProblem
    }

    /// Variables the agent's environment may hold that make a runtime unreachable to its probes:
    /// llama-server reads each as the flag it names (`--api-prefix` moves `/health`; `--ssl-key-file`
    /// and `--ssl-cert-file` switch it to HTTPS), and the agent sets none of those flags. Left out of
    /// every runtime's environment unless `spec.env` sets them. (`LLAMA_ARG_HOST` and `LLAMA_ARG_PORT`
    /// need no such care: a command-line flag wins over its variable, and the agent always passes
    /// `--host` and `--port`.)
    static let unreachableIfInherited = ["LLAMA_ARG_API_PREFIX", "LLAMA_ARG_SSL_KEY_FILE", "LLAMA_ARG_SSL_CERT_FILE"]

    /// How it ended, once it has.
    var termination: Termination? { exit.result }

    /// Starts `launch`; its stdout and stderr go, through a pipe the agent reads, to `logPath`,
    /// rotated by `limits`.
    /// - Parameter guardCommand: how to start a runtime guard (`metal-agent-guard`) (executable and arguments before
    ///   `--grace-seconds`), e.g. `["/usr/local/bin/metal-agent-guard", "guard"]`; nil starts the runtime directly.
    /// - Returns: the running child, or why it could not start.
    /// - Parameter sweeper: told about each guard, so it never takes one for a stray helper.
    static func spawn(
        _ launch: LaunchDescription, logPath: String, limits: LogLimits, guardCommand: [String]? = nil,
        sweeper: OrphanSweeper? = nil
    ) async -> Result<ChildProcess, SpawnError> {
        // A model must never stop serving because of its log: a missing folder is created again, and a
        // log that cannot be opened at all only drops the output (tried again while the runtime runs).
        var logProblem: String?
        // The run before keeps its output as `<name>.previous.log` (`metal-agent logs --previous`).
        LogFiles(path: logPath).keepPreviousRun()
        do {
            _ = try RotatingLog(path: logPath, limits: limits)
        } catch {
            logProblem = "log file \(logPath) cannot be written (\(error)); the runtime's output is dropped"
        }
        let tail = OutputTail()
        let command: Command
        switch Self.command(for: launch, guardCommand: guardCommand) {
        case .failure(let error): return .failure(error)
        case .success(let built): command = built
        }
        let exit = ExitLatch()
        let agentEnd = command.lifeline
        let guardEnd = command.guardSide
        // Closed once the guard has exited *and* its answer has been read: closing it earlier could let
        // the number be reused by another open while the answer is still being read from it.
        let lifelineCloser = SharedCloser(fd: agentEnd, users: 2)
        // Waiting for the pid is deliberately not cancellable: once posix_spawn runs, the process exists,
        // and a caller that gave up here would leak it (a stop during a start used to orphan the runtime).
        #if os(Linux) && !PORTABLE_POSIX
        let spawn = { (serial: UInt64) async -> Result<Int32, SpawnError> in
            let started = ChildSpawner.start(command, logPath: logPath, limits: limits, tail: tail) { pid, termination in
                exit.resolve(termination)
                // Reaped: helpers its death handed to the agent (a subreaper) go now.
                if let sweeper { Task.detached { sweeper.reaped(pid, serial: serial) } }
                lifelineCloser.release()
            }
            if case .failure(let error) = started {
                exit.resolve(.spawnFailed(error.message))
                lifelineCloser.release()
            }
            return started
        }
        #else
        let configuration = command.configuration
        let spawn = { (serial: UInt64) in
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int32, SpawnError>, Never>) in
                let once = ResumeOnce(continuation)
                Task {
                    do {
                        let started: @Sendable (Int32) -> Void = { once.resume(.success($0)) }
                        let (status, pid) =
                            agentEnd >= 0
                            ? try await runLogging(
                                configuration, input: .fileDescriptor(FileDescriptor(rawValue: guardEnd), closeAfterSpawningProcess: true), logPath: logPath,
                                limits: limits, tail: tail, started: started)
                            : try await runLogging(configuration, input: .none, logPath: logPath, limits: limits, tail: tail, started: started)
                        switch status {
                        case .exited(let code): exit.resolve(.exited(code))
                        case .signaled(let signal): exit.resolve(.signaled(signal))
                        }
                        // Reaped: helpers its death handed to the agent (a subreaper) go now.
                        if let sweeper { Task.detached { sweeper.reaped(pid, serial: serial) } }
                    } catch {
                        once.resume(.failure(SpawnError(message: "\(error)")))
                        exit.resolve(.spawnFailed("\(error)"))
                    }
                    lifelineCloser.release()
                }
            }
        }
        #endif
        let started: Result<Int32, SpawnError>
        if let sweeper {
            started = await sweeper.spawning(spawn, pid: { try? $0.get() })
        } else {
            started = await spawn(0)
        }
        let pid: Int32
        switch started {
        case .failure(let error):
            lifelineCloser.release()
            return .failure(error)
        case .success(let spawned):
            pid = spawned
        }
        guard agentEnd >= 0 else {
            return .success(ChildProcess(pid: pid, runtimePid: pid, guarded: false, exit: exit, output: tail, logProblem: logProblem))
        }

        // The guard answers `pid <n>` once the runtime runs, or `error <why>`.
        let answer = await GuardHandshake.receive(agentEnd, timeout: .seconds(30))
        lifelineCloser.release()
        return await Self.guarded(pid: pid, answer: answer, exit: exit, tail: tail, logProblem: logProblem)
    }

    /// The child a guard's `answer` describes: its runtime's pid, or why the runtime did not start (a
    /// guard that never answered is stopped).
    private static func guarded(
        pid: Int32, answer: GuardHandshake, exit: ExitLatch, tail: OutputTail, logProblem: String?
    ) async -> Result<ChildProcess, SpawnError> {
        switch answer {
        case .runtime(let runtimePid):
            return .success(ChildProcess(pid: pid, runtimePid: runtimePid, guarded: true, exit: exit, output: tail, logProblem: logProblem))
        case .failed(let message):
            _ = await Task.detached { await exit.wait(timeout: .seconds(10)) }.value  // it exits 127 now
            return .failure(SpawnError(message: message))
        case .noAnswer(let why):
            await ChildProcess(pid: pid, runtimePid: pid, guarded: true, exit: exit, output: tail, logProblem: logProblem)
                .terminate(grace: .seconds(1), logger: Logger(label: "metal-agent"))
            return .failure(SpawnError(message: "the runtime guard did not start the runtime: \(why)"))
        }
    }

    /// What to exec for one start and, under a guard, the two ends of the lifeline socket (-1 without a
    /// guard).
    struct Command: Sendable {
        /// The executable: a path, or a name to look up in `PATH` when `search`.
        var executable: String
        var search = false
        /// argv, `argv[0]` included.
        var arguments: [String]
        /// The whole environment.
        var environment: [String: String]
        var lifeline: Int32 = -1
        var guardSide: Int32 = -1

        /// The same command for swift-subprocess.
        var configuration: Configuration {
            let executable: Executable = search ? .name(self.executable) : .path(FilePath(self.executable))
            var options = PlatformOptions()
            options.processGroupID = 0  // its own group: pgid = pid
            var custom: [Environment.Key: String] = [:]
            for (name, value) in environment {
                if let key = Environment.Key(rawValue: name) { custom[key] = value }
            }
            return Configuration(
                executable: executable,
                arguments: Arguments(executablePathOverride: .init(arguments.first ?? self.executable), remainingValues: Array(arguments.dropFirst())),
                environment: .custom(custom), platformOptions: options)
        }
    }

    /// The environment (the agent's, less `unreachableIfInherited`, plus the launch's), the process group
    /// (its own: pgid = pid) and argv: the guard's (`metal-agent guard --grace-seconds S -- RUNTIME ...`,
    /// with a fresh socket pair for its stdin) or the runtime's own.
    private static func command(for launch: LaunchDescription, guardCommand: [String]?) -> Result<Command, SpawnError> {
        var environment = ProcessInfo.processInfo.environment
        // Inherited variables that would change how the agent reaches the runtime are not passed on;
        // spec.env can still set them.
        for name in Self.unreachableIfInherited { environment[name] = nil }
        environment.merge(launch.environment) { _, new in new }
        guard let guardCommand, let guardExecutable = guardCommand.first else {
            return .success(
                Command(
                    executable: launch.executable, search: !launch.executable.contains("/"), arguments: [launch.executable] + launch.arguments,
                    environment: environment))
        }
        // The guard's stdin is one end of a socket pair; the agent keeps the other (close-on-exec, so no
        // other child inherits it) until the guard has exited.
        var pair: [Int32] = [-1, -1]
        guard closeOnExecSocketPair(&pair) == 0 else {
            return .failure(SpawnError(message: "socketpair: \(String(cString: strerror(errno)))"))
        }
        let grace = String(launch.terminationGracePeriod.inSeconds)
        return .success(
            Command(
                executable: guardExecutable,
                arguments: ["metal-agent"] + Array(guardCommand.dropFirst()) + ["--grace-seconds", grace, "--", launch.executable] + launch.arguments,
                environment: environment, lifeline: pair[0], guardSide: pair[1]))
    }

    /// Waits for the process to end; nil on cancellation.
    func waitForExit() async -> Termination? { await exit.wait() }

    /// Waits at most `timeout` for the process to end; nil when it still runs (or on cancellation).
    func waitForExit(timeout: Duration) async -> Termination? { await exit.wait(timeout: timeout) }

    /// Stops the runtime and everything it started, and returns how the runtime ended.
    ///
    /// With a guard: SIGTERM to the guard, which passes it once to every descendant and after `grace`
    /// SIGKILLs what is left; the agent SIGKILLs the group itself only if the guard has not exited
    /// `grace` + 10 s later. Without one: SIGTERM to the group, up to `grace` for the leader to exit,
    /// then SIGKILL. Either way a final SIGKILL to the group takes whatever is left in it.
    /// Not cancellable: it always finishes, so no process is left behind.
    @discardableResult
    func terminate(grace: Duration, logger: Logger) async -> Termination {
        let pgid = pid
        let exit = self.exit
        let guarded = self.guarded
        let leader = self.leader
        let runtime = self.runtime
        /// Signals the process group unless its id now belongs to a stranger: once the leader has been
        /// reaped, its pid (and so the group id) is free for reuse when no member is left.
        @Sendable func signalGroup(_ signal: Int32) {
            let ours = leader?.pidIsNotAStranger ?? (ProcessTree.stat(pgid) == nil)
            if ours { _ = killpg(pgid, signal) }
        }
        return await Task.detached {
            if let done = exit.result {
                signalGroup(SIGKILL)
                return done
            }
            if guarded {
                leader?.signal(SIGTERM)
            } else {
                signalGroup(SIGTERM)
            }
            if let done = await exit.wait(timeout: guarded ? grace + .seconds(10) : grace) {
                // The leader exited in time; anything still in its group got the same SIGTERM and goes now.
                signalGroup(SIGKILL)
                return done
            }
            logger.warning("process group did not exit within grace period; sending SIGKILL", metadata: ["pgid": "\(pgid)"])
            if guarded, let leader {
                // The guard is stuck (stopped, say): take its whole tree, helpers outside the group too.
                ProcessTree.signal(treeOf: leader, SIGKILL, includingRoot: false)
            }
            signalGroup(SIGKILL)
            let done = await exit.wait()
            // The runtime of a guard killed this way is no longer the guard's to reap (it comes to the agent,
            // a subreaper): wait, briefly, until it is gone, so that its port is free for the next start.
            if let runtime {
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(10)
                while runtime.isStillRunning && clock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            }
            return done ?? .signaled(SIGKILL)
        }.value
    }
}

/// Runs `configuration` with `input` on stdin, stdout and stderr copied to `logPath` (rotated by
/// `limits`; dropped while it cannot be written) and to `tail`, until the process and every holder of
/// the pipe are gone; calls `started` with the pid.
/// - Returns: how the process ended.
/// - Throws: swift-subprocess's `SubprocessError` when it cannot be spawned.
private func runLogging<Input: InputProtocol>(
    _ configuration: Configuration, input: Input, logPath: String, limits: LogLimits, tail: OutputTail,
    started: @Sendable (Int32) -> Void
) async throws -> (TerminationStatus, pid_t) {
    // The output is read by the agent's one `OutputPump`, not by a task of this run: see there why.
    let pipe = try OutputPump.makePipe()
    let drained = OutputPump.shared.copy(pipe.read, toLog: logPath, limits: limits, tail: tail)
    // swift-subprocess closes the write end once the process has it, or when the spawn fails: either
    // way the pump then sees the pipe's end once the runtime (and whatever inherited it) is gone.
    let result = try await Subprocess.run(
        configuration, input: input, output: .fileDescriptor(FileDescriptor(rawValue: pipe.write), closeAfterSpawningProcess: true),
        error: .combinedWithOutput
    ) { execution in
        started(execution.processIdentifier.value)
    }
    // Its helpers may hold the pipe long after: read what it wrote, and stop.
    OutputPump.shared.finish(drained)
    await drained.wait()
    return (result.terminationStatus, result.processIdentifier.value)
}
