import CProcessControl
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The small process between the agent and each runtime (Linux): `metal-agent guard`.
///
/// Why it exists: a runtime must not outlive the agent, even when the agent is SIGKILLed, and a
/// helper that escaped the process group with `setsid` must not outlive the runtime. Linux's
/// parent-death signal (`PR_SET_PDEATHSIG`) fires when the parent *thread* exits, and Swift's
/// concurrency pool threads come and go, so the agent cannot use it directly. The guard can: it is
/// single-threaded where it forks, so its runtime gets SIGKILL exactly when the guard dies.
///
/// What it does (process tree: agent → guard → runtime → helpers):
/// - leads the process group the agent created for it; the runtime and its helpers stay in it;
/// - is a child subreaper (`PR_SET_CHILD_SUBREAPER`), so helpers whose parent died (daemonized,
///   `setsid`, double fork) are re-parented to it, stay its descendants, and are reaped by it at once;
/// - holds one end of a socket pair on its stdin, the agent holds the other: end of file there means
///   the agent is gone (however it died), and the guard stops the runtime;
/// - ignores every other catchable signal (SIGUSR1, SIGALRM, SIGTSTP, ...), so only SIGKILL ends it
///   early (then its runtime gets SIGKILL too, and the agent, a subreaper, stops any helper left);
/// - on SIGTERM/SIGINT/SIGHUP/SIGQUIT or agent loss: SIGTERM once to every descendant, then after
///   `grace` seconds SIGKILL to every descendant still alive (Kubernetes' terminationGracePeriodSeconds
///   semantics);
/// - when the runtime exits: SIGKILL to every descendant left (the same as the agent's sweep of the
///   process group), reaps them, and exits with the runtime's exit code, or dies of the runtime's
///   signal, so the agent sees the runtime's own termination.
///
/// Handshake on the socket: one line, `pid <runtime pid>` once the runtime is exec'd, or
/// `error <message>` when it cannot be started (then the guard exits 127).
public enum RuntimeGuard {
    /// Signals that start a stop.
    static let stopSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT]

    /// Runs the guard for `command` (executable, then arguments; a name without `/` is searched in
    /// PATH) with a stop grace of `graceSeconds` seconds. Never returns.
    public static func run(graceSeconds: Double, command: [String]) -> Never {
        #if os(Linux)
        let lifeline: Int32 = 0
        guard let executable = command.first else { fail(lifeline, "no runtime command given") }
        _ = mac_set_child_subreaper()

        // Every signal goes through the signalfd: the stop signals start a stop, SIGCHLD means reaping,
        // and the rest (SIGUSR1, SIGALRM, SIGTSTP, ...) are ignored, so no stray signal can end or
        // stop the guard and leave its runtime's helpers behind. Faults stay deliverable.
        var mask = sigset_t()
        sigfillset(&mask)
        for fault in [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT] { sigdelset(&mask, fault) }
        sigprocmask(SIG_BLOCK, &mask, nil)
        let signals = mac_signalfd(&mask)
        guard signals >= 0 else { fail(lifeline, "signalfd: \(String(cString: strerror(errno)))") }

        var spawnErrno: Int32 = 0
        let runtime: pid_t = withCStrings(command) { argv in mac_spawn(executable, argv, SIGKILL, &spawnErrno) }
        guard runtime > 0 else {
            fail(lifeline, "cannot execute \(executable): \(String(cString: strerror(spawnErrno)))")
        }
        send(lifeline, "pid \(runtime)\n")

        var runtimeStatus: Int32?
        var watchingLifeline = true
        var stopDeadline: ContinuousClock.Instant?
        var killed = false
        let clock = ContinuousClock()

        func beginStop(_ why: String) {
            guard stopDeadline == nil else { return }
            note("\(why): stopping the runtime (pid \(runtime)), grace \(graceSeconds) s")
            stopDeadline = clock.now + .milliseconds(Int64(graceSeconds * 1000))
            signalDescendants(SIGTERM)
        }

        while runtimeStatus == nil {
            var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            if watchingLifeline { fds.append(pollfd(fd: lifeline, events: Int16(POLLIN), revents: 0)) }
            var timeout: Int32 = -1
            if let deadline = stopDeadline, !killed {
                let left = deadline - clock.now
                timeout = max(0, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1)
            }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { fail(-1, "poll: \(String(cString: strerror(errno)))") }

            while true {
                let signal = mac_signalfd_read(signals)
                if signal <= 0 { break }
                if stopSignals.contains(signal) { beginStop("received signal \(signal)") }
            }
            if watchingLifeline, fds.count > 1, fds[1].revents != 0 {
                var byte: UInt8 = 0
                let n = read(lifeline, &byte, 1)
                if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) {
                    watchingLifeline = false
                    beginStop("the agent is gone (lifeline closed)")
                }
            }
            // Reap whatever ended: the runtime, or re-parented helpers.
            while true {
                var status: Int32 = 0
                let pid = waitpid(-1, &status, WNOHANG)
                if pid <= 0 { break }
                if pid == runtime { runtimeStatus = status }
            }
            if let deadline = stopDeadline, !killed, clock.now >= deadline {
                note("grace period over: SIGKILL")
                killed = true
                signalDescendants(SIGKILL)
            }
        }

        // The runtime is gone; so is everything it left behind.
        killAllDescendants()
        let status = runtimeStatus ?? 0
        if (status & 0x7f) == 0 { exit((status >> 8) & 0xff) }
        die(of: status & 0x7f)
        #else
        _ = command
        _ = graceSeconds
        print("metal-agent guard: Linux only")
        exit(127)
        #endif
    }

    #if os(Linux)
    /// Signals every live descendant, each by identity (pid and start time), so that a descendant that
    /// exited after the scan, and whose pid a stranger took, is never signalled.
    static func signalDescendants(_ signal: Int32) {
        for process in ProcessTree.descendants(of: getpid()) { process.identity.signal(signal) }
    }

    /// SIGKILL to every descendant, again and again until none is left (one may fork meanwhile),
    /// reaping each; returns when this process has no descendants and no zombies.
    static func killAllDescendants() {
        while true {
            let live = ProcessTree.descendants(of: getpid())
            for process in live { process.identity.signal(SIGKILL) }
            var status: Int32 = 0
            // Killed processes end; orphans of killed parents come to us and are reaped here too.
            while waitpid(-1, &status, live.isEmpty ? WNOHANG : 0) > 0 {}
            if live.isEmpty { return }
        }
    }

    /// Ends this process by `signal`, so its parent sees the same termination as the runtime's.
    static func die(of signal: Int32) -> Never {
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
        Glibc.signal(signal, SIG_DFL)
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, signal)
        sigprocmask(SIG_UNBLOCK, &mask, nil)
        raise(signal)
        exit(128 + signal)
    }

    static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    static func send(_ fd: Int32, _ line: String) {
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }

    static func note(_ message: String) {
        send(2, "metal-agent guard[\(getpid())]: \(message)\n")
    }

    static func fail(_ lifeline: Int32, _ message: String) -> Never {
        note(message)
        if lifeline >= 0 { send(lifeline, "error \(message)\n") }
        exit(127)
    }
    #endif
}
