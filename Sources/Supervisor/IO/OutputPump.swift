import CProcessControl
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

/// One thread with one `poll(2)` loop that copies every runtime's output (the read end of the pipe
/// its stdout and stderr share) to its rotating log and its `OutputTail`, through one 64 KiB buffer,
/// and, for children the agent spawned itself (`ChildSpawner`), reaps each one when its pidfd turns
/// readable.
///
/// Why not a reading task per runtime: swift-subprocess's output sequence keeps a buffer the size of
/// the pipe (64 KiB on Linux, `F_GETPIPE_SZ`) allocated for every pending read, so 1,000 quiet
/// runtimes cost 64 MiB of agent memory; here they cost a descriptor and a few hundred bytes each.
/// Writes to the log are plain blocking `write(2)`s on this thread, as they were on the reading task.
final class OutputPump: Sendable {
    /// The agent's one pump, started on first use.
    static let shared = OutputPump()

    /// Resolved once a pipe has reached its end (every writer closed it) and its last bytes are in the
    /// log and the tail.
    final class Drained: Sendable {
        private let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        fileprivate func resolve() {
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.done = true
                defer { s.waiters = [] }
                return s.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        /// Waits until the pipe has been read to its end.
        func wait() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = state.withLock { s -> Bool in
                    if !s.done { s.waiters.append(continuation) }
                    return s.done
                }
                if done { continuation.resume() }
            }
        }
    }

    private struct Registration: Sendable {
        var fd: Int32
        var logPath: String
        var limits: LogLimits
        var tail: OutputTail
        var drained: Drained
    }

    /// A pipe being read, owned by the pump thread.
    private final class Source {
        let fd: Int32
        var log: RotatingLog
        let tail: OutputTail
        let drained: Drained

        init(_ r: Registration) {
            fd = r.fd
            log = RotatingLog(openingLaterIfNeeded: r.logPath, limits: r.limits)
            tail = r.tail
            drained = r.drained
        }
    }

    /// A child to reap: its pidfd (-1 when the kernel has none: then `waitpid(WNOHANG)` every second).
    private struct ExitWatch: Sendable {
        var pid: pid_t
        var pidfd: Int32
        var onExit: @Sendable (Termination) -> Void
    }

    private struct Submitted {
        var new: [Registration] = []
        var exits: [ExitWatch] = []
        var finish: [Drained] = []
        var started = false
    }

    private let submitted = Mutex(Submitted())
    private let wake = WakePipe()

    init() {}

    /// Creates a pipe for a runtime's output: both ends close-on-exec (the spawn puts the write end on
    /// the runtime's stdout and stderr; the agent must close its own copy once the runtime has it).
    /// - Throws: `Errno` when no pipe can be made (out of descriptors).
    static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw PumpError(errno: errno) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        return (fds[0], fds[1])
    }

    /// `pipe(2)` failed with this `errno`.
    struct PumpError: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { "cannot create an output pipe: \(String(cString: strerror(errno)))" }
    }

    /// Copies everything read from `fd` (a non-blocking pipe read end; the pump closes it) to the log at
    /// `logPath` and to `tail` until its end.
    func copy(_ fd: Int32, toLog logPath: String, limits: LogLimits, tail: OutputTail) -> Drained {
        let drained = Drained()
        submit { $0.new.append(Registration(fd: fd, logPath: logPath, limits: limits, tail: tail, drained: drained)) }
        return drained
    }

    /// Reaps `pid` (a child of this process that nothing else waits for) once it exits, and then calls
    /// `onExit` with how it ended, on the pump's thread.
    func reap(_ pid: pid_t, onExit: @escaping @Sendable (Termination) -> Void) {
        let pidfd = metal_agent_pidfd_open(pid)
        submit { $0.exits.append(ExitWatch(pid: pid, pidfd: pidfd, onExit: onExit)) }
    }

    /// Reads what the pipe behind `drained` holds now and stops reading it (resolving `drained`): for a
    /// process that has exited, whose descendants may keep the pipe open long after (a helper that left
    /// its group). Everything the process itself wrote is in the pipe by the time it has exited.
    func finish(_ drained: Drained) {
        submit { $0.finish.append(drained) }
    }

    private func submit(_ change: (inout Submitted) -> Void) {
        let startThread = submitted.withLock { s -> Bool in
            change(&s)
            defer { s.started = true }
            return !s.started
        }
        if startThread {
            DetachedThread.start(name: "output pump") { [self] in run() }
        }
        wake.poke()
    }

    /// How `waitpid` status `status` ended the process (the `WIFEXITED`/`WTERMSIG` macros, which Swift
    /// cannot import).
    static func termination(waitStatus status: Int32) -> Termination {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// Reaps `pid` if it has exited: how it ended, or nil while it runs.
    private static func reapIfExited(_ pid: pid_t) -> Termination? {
        var status: Int32 = 0
        var rc: pid_t
        repeat { rc = waitpid(pid, &status, WNOHANG) } while rc < 0 && errno == EINTR
        if rc == pid { return termination(waitStatus: status) }
        if rc < 0 && errno == ECHILD { return .exited(0) }  // reaped by someone else: nothing more to learn
        return nil
    }

    /// The loop; runs for the life of the process. `fds` is the wake pipe, then one entry per source,
    /// then one per pidfd, in the order of `sources` and `exits`.
    private func run() {
        var sources: [Source] = []
        var exits: [ExitWatch] = []
        var polled: [ExitWatch] = []  // no pidfd
        var fds = [pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let (new, newExits, finish) = submitted.withLock { s -> ([Registration], [ExitWatch], [Drained]) in
                defer {
                    s.new = []
                    s.exits = []
                    s.finish = []
                }
                return (s.new, s.exits, s.finish)
            }
            for registration in new {
                fds.insert(pollfd(fd: registration.fd, events: Int16(POLLIN), revents: 0), at: 1 + sources.count)
                sources.append(Source(registration))
            }
            for drained in finish {
                guard let index = sources.firstIndex(where: { $0.drained === drained }) else { continue }
                while pump(sources[index], buffer: &buffer, wouldBlock: true) {}
                let source = sources.remove(at: index)
                fds.remove(at: index + 1)
                close(source.fd)
                source.drained.resolve()
            }
            for watch in newExits {
                if watch.pidfd >= 0 {
                    exits.append(watch)
                    fds.append(pollfd(fd: watch.pidfd, events: Int16(POLLIN), revents: 0))
                } else {
                    polled.append(watch)
                }
            }
            polled.removeAll { watch in
                guard let ended = Self.reapIfExited(watch.pid) else { return false }
                watch.onExit(ended)
                return true
            }
            let ready = poll(&fds, nfds_t(fds.count), polled.isEmpty ? -1 : 1000)
            if ready < 0 { continue }  // EINTR
            if fds[0].revents != 0 { wake.drain() }
            var ended: [Int] = []
            for index in sources.indices where fds[index + 1].revents != 0 {
                fds[index + 1].revents = 0
                if !pump(sources[index], buffer: &buffer) { ended.append(index) }
            }
            var reaped: [Int] = []
            for index in exits.indices where fds[1 + sources.count + index].revents != 0 {
                fds[1 + sources.count + index].revents = 0
                guard let termination = Self.reapIfExited(exits[index].pid) else { continue }
                close(exits[index].pidfd)
                exits[index].onExit(termination)
                reaped.append(index)
            }
            for index in reaped.reversed() {
                exits.remove(at: index)
                fds.remove(at: 1 + sources.count + index)
            }
            for index in ended.reversed() {
                let source = sources.remove(at: index)
                fds.remove(at: index + 1)
                close(source.fd)
                source.drained.resolve()
            }
        }
    }

    /// Reads what `source` has now (at most 16 buffers, so one chatty runtime cannot starve the
    /// others); false at its end (or on a read error), and, with `wouldBlock`, also when nothing more
    /// is there now.
    private func pump(_ source: Source, buffer: inout [UInt8], wouldBlock: Bool = false) -> Bool {
        for _ in 0..<16 {
            let n = buffer.withUnsafeMutableBytes { read(source.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.withUnsafeBytes { all in
                    let bytes = UnsafeRawBufferPointer(rebasing: all[..<n])
                    source.log.write(bytes)
                    source.tail.append(bytes)
                }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return !wouldBlock }
            return false
        }
        return true
    }
}
