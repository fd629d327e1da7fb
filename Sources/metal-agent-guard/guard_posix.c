// The portable runtime guard (see main.c for usage and the handshake): macOS, and Linux built with
// METAL_AGENT_PORTABLE=1, so that the code the Mac runs is built and tested on Linux too. Only POSIX.1-2008
// calls: fork, execvp, setpgid, sigaction with a self-pipe, poll, waitpid, kill of a process group.
//
// What it does (process tree: agent -> guard -> runtime -> helpers):
// - the runtime runs in the guard's process group, which the agent created for the guard (the agent's
//   last resort, SIGKILL to that group, so takes the runtime too); run by hand, when the guard leads no
//   group, the runtime leads a new group of its own instead, so that no signal reaches the caller's;
// - end of file (or POLLHUP) on the lifeline means the agent is gone, however it died: a stop;
// - SIGTERM, SIGINT, SIGHUP and SIGQUIT start a stop, SIGCHLD means reaping (both through a self-pipe
//   that poll(2) watches with the lifeline); every other catchable signal (SIGUSR1, SIGALRM, SIGTSTP,
//   SIGTTIN, SIGTTOU, ...) is ignored, so only SIGKILL ends the guard early (then the agent sees it end
//   and SIGKILLs the group, runtime included);
// - a stop: SIGTERM to the runtime's group, then after the grace period SIGKILL to it;
// - when the runtime exits: SIGKILL to what is left in its group, then the guard exits with the
//   runtime's exit code, or dies of the runtime's signal, so the agent sees the runtime's own ending.
//
// What it cannot do without a subreaper (Linux's PR_SET_CHILD_SUBREAPER, which guard_linux.c uses): a
// helper that left the process group (setsid(2), setpgid(2)) is not tracked; once its parent exits it
// belongs to init (launchd) and nothing stops it. Nor does the runtime die at once if the guard itself
// is SIGKILLed (no parent-death signal): the agent's SIGKILL to the group takes it then, and if the
// agent is gone as well, nothing does.
#define _XOPEN_SOURCE 700
#include "guard_common.h"
#if !METAL_AGENT_LINUX_GUARD
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <sys/wait.h>

#ifdef NSIG
enum { signal_count = NSIG };
#else
enum { signal_count = 65 };  // see guard_common.c: numbers the kernel does not know fail with EINVAL
#endif

// The self-pipe: the signal handler writes each signal's number to it (write(2) is async-signal-safe,
// POSIX 2.4.3), the main loop polls its read end. Both ends non-blocking: a full pipe drops a byte, never
// blocks a handler, and every wake-up checks everything anyway.
static int wake[2] = {-1, -1};

static void on_signal(int signal) {
    int saved = errno;
    unsigned char byte = (unsigned char)signal;
    (void)!write(wake[1], &byte, 1);
    errno = saved;
}

static int is_stop_signal(int s) { return s == SIGTERM || s == SIGINT || s == SIGHUP || s == SIGQUIT; }

// The runtime's process group, and whether the guard is in it too.
static pid_t group = -1;
static int guard_in_group = 0;

static void signal_group(int signal) {
    // kill(2) with a negative pid: every process of that group (the guard too, when it is a member).
    if (group > 0) (void)kill(-group, signal);
}

// Moves the guard out of the runtime's group, so that SIGKILL to the group spares it: setpgid(2) lets a
// process (a group leader too, as long as it leads no session) join another group of its session. That
// group is made by a short-lived child; it lives on with the guard alone in it (POSIX: a process group
// ID is not reused while the group exists). Returns 0, or -1 (the guard stays in the group).
static int leave_group(void) {
    if (!guard_in_group) return 0;
    pid_t holder = fork();
    if (holder < 0) return -1;
    if (holder == 0) {
        (void)setpgid(0, 0);
        for (;;) pause();
    }
    (void)setpgid(holder, holder);  // in both processes, whichever runs first (POSIX setpgid rationale)
    int left = setpgid(0, holder);
    (void)kill(holder, SIGKILL);
    while (waitpid(holder, NULL, 0) < 0 && errno == EINTR) {}
    if (left != 0) return -1;
    guard_in_group = 0;
    return 0;
}

// SIGKILL to the runtime's group, the guard spared. If the guard cannot leave the group while the
// runtime still runs, it SIGKILLs the group anyway, itself included: it then dies of SIGKILL, which is
// also what the runtime's ending would have been.
static void kill_group(int runtime_running) {
    if (leave_group() != 0 && !runtime_running) {
        note("cannot leave the process group (%s): helpers left in it are not killed", strerror(errno));
        return;
    }
    signal_group(SIGKILL);
}

// Catches the stop signals and SIGCHLD, ignores every other catchable signal; faults keep their default
// action (a fault in the guard must not loop). SA_RESTART: no call but poll(2) sees EINTR.
static void set_dispositions(void) {
    int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
    for (int s = 1; s < signal_count; s++) {
        int fault = 0;
        for (size_t f = 0; f < sizeof faults / sizeof faults[0]; f++) fault |= s == faults[f];
        if (fault || s == SIGKILL || s == SIGSTOP) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        sigemptyset(&action.sa_mask);
        if (is_stop_signal(s) || s == SIGCHLD) {
            action.sa_handler = on_signal;
            action.sa_flags = SA_RESTART | (s == SIGCHLD ? SA_NOCLDSTOP : 0);
        } else {
            action.sa_handler = SIG_IGN;  // never SIGCHLD: ignoring it would let the kernel reap the runtime
        }
        (void)sigaction(s, &action, NULL);
    }
}

static int close_on_exec_pipe(int fds[2], int nonblocking) {
    if (pipe(fds) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        (void)fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        if (nonblocking) (void)fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

// fork + exec of the runtime (exec_runtime: default dispositions but SIGPIPE ignored, no signal
// blocked, stdin from /dev/null). Returns its pid, or -1 with *spawn_errno.
static pid_t spawn_runtime(char *const argv[], int *spawn_errno) {
    int report[2];  // the child reports a failed exec here (close-on-exec: EOF means exec succeeded)
    if (close_on_exec_pipe(report, 0) != 0) { *spawn_errno = errno; return -1; }
    pid_t pid = fork();
    if (pid < 0) {
        *spawn_errno = errno;
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        if (!guard_in_group && setpgid(0, 0) != 0) { int e = errno; (void)!write(report[1], &e, sizeof e); _exit(127); }
        exec_runtime(argv, report[1]);
    }
    if (!guard_in_group) (void)setpgid(pid, pid);  // both sides (EACCES once it has exec'd: harmless)
    close(report[1]);
    *spawn_errno = exec_error(pid, report[0]);
    return *spawn_errno != 0 ? -1 : pid;
}

int guard_run(double grace, char **command) {
    if (close_on_exec_pipe(wake, 1) != 0) fail("pipe: ", strerror(errno));
    set_dispositions();
    // The signal mask survives fork and exec (POSIX exec): a parent that blocks SIGCHLD or SIGTERM in
    // the thread that spawned the guard (Swift's runtime, swift-service-lifecycle) would silence it.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    guard_in_group = getpgrp() == getpid();

    int spawn_errno = 0;
    pid_t runtime = spawn_runtime(command, &spawn_errno);
    if (runtime <= 0) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s: %s", command[0], strerror(spawn_errno));
        fail("cannot execute ", detail);
    }
    group = guard_in_group ? getpid() : runtime;
    int watching_lifeline = lifeline_is_socket();
    if (watching_lifeline) say(lifeline, "pid %d\n", (int)runtime);

    int runtime_status = 0, runtime_done = 0, killed = 0;
    long long deadline = -1;
    while (!runtime_done) {
        struct pollfd fds[2] = {{wake[0], POLLIN, 0}, {lifeline, POLLIN, 0}};
        int ready = poll(fds, watching_lifeline ? 2 : 1, timeout_until(deadline, killed));
        if (ready < 0 && errno != EINTR) fail("poll: ", strerror(errno));

        unsigned char received[64];
        ssize_t n;
        while ((n = read(wake[0], received, sizeof received)) > 0) {
            for (ssize_t r = 0; r < n; r++) {
                // The guard's own SIGTERM to its group comes back here too: a stop under way ignores it.
                if (is_stop_signal(received[r]) && deadline < 0) {
                    note("received signal %d: stopping the runtime (pid %d), grace %g s", received[r], (int)runtime, grace);
                    deadline = now_ms() + (long long)(grace * 1000);
                    signal_group(SIGTERM);
                }
            }
        }
        if (watching_lifeline && lifeline_closed(fds[1].revents)) {
            watching_lifeline = 0;
            if (deadline < 0) {
                note("the agent is gone (lifeline closed): stopping the runtime (pid %d), grace %g s", (int)runtime, grace);
                deadline = now_ms() + (long long)(grace * 1000);
                signal_group(SIGTERM);
            }
        }
        // The runtime is the guard's only child (leave_group reaps its own).
        pid_t pid;
        while ((pid = waitpid(runtime, &runtime_status, WNOHANG)) < 0 && errno == EINTR) {}
        if (pid == runtime || (pid < 0 && errno == ECHILD)) runtime_done = 1;
        if (!runtime_done && deadline >= 0 && !killed && now_ms() >= deadline) {
            note("grace period over: SIGKILL");
            killed = 1;
            kill_group(1);
        }
    }

    // The runtime is gone; so is whatever it left in its group.
    kill_group(0);
    if (WIFEXITED(runtime_status)) return WEXITSTATUS(runtime_status);
    die_of(WTERMSIG(runtime_status));
}
#endif
