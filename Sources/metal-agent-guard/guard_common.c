// What both runtime guards share; see guard_common.h. Portable POSIX.1-2008 (XSI for setrlimit).
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "guard_common.h"

// Signal numbers to reset in the runtime: NSIG where the C library shows it (glibc: 65, with the
// real-time signals; macOS: 32). Numbers the kernel does not know, or that the C library keeps for
// itself, make sigaction(2) fail with EINVAL, which is harmless here.
#ifdef NSIG
enum { signal_count = NSIG };
#else
enum { signal_count = 65 };
#endif

void say(int fd, const char *format, ...) {
    char line[1024];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (n < 0) return;
    if (n >= (int)sizeof line) n = (int)sizeof line - 1;
    ssize_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, line + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        off += w;
    }
}

void fail(const char *message, const char *detail) {
    note("%s%s", message, detail);
    say(lifeline, "error %s%s\n", message, detail);
    exit(127);
}

void exec_runtime(char *const argv[], int report) {
    // Only async-signal-safe calls here (POSIX fork(2): a child of a process that may have had signal
    // handlers runs only those until exec). Caught signals are reset by exec itself, ignored ones are
    // not (POSIX exec: "Signals set to be ignored ... shall be set to be ignored by the new process
    // image"), so every disposition is set explicitly.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < signal_count; s++) {
        if (s != SIGKILL && s != SIGSTOP) (void)sigaction(s, &dfl, NULL);
    }
    // SIGPIPE ignored, as systemd does for its services (IgnoreSIGPIPE=yes, systemd.exec(5)): once the
    // agent is gone nobody reads the runtime's output pipe, and a runtime that logs while it shuts down
    // must get EPIPE and its grace period, not die of the signal at its next log line.
    struct sigaction ignore = dfl;
    ignore.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &ignore, NULL);
    // The signal mask is inherited across exec (POSIX exec); the runtime starts with none blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0) { int e = errno; (void)!write(report, &e, sizeof e); _exit(127); }
    if (null != 0) close(null);
    execvp(argv[0], argv);
    int e = errno;
    (void)!write(report, &e, sizeof e);
    _exit(127);
}

int exec_error(pid_t pid, int report) {
    int child_errno = 0;
    ssize_t n;
    do { n = read(report, &child_errno, sizeof child_errno); } while (n < 0 && errno == EINTR);
    close(report);
    if (n != (ssize_t)sizeof child_errno) return 0;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return child_errno;
}

int lifeline_is_socket(void) {
    struct stat stdin_stat;
    return fstat(lifeline, &stdin_stat) == 0 && S_ISSOCK(stdin_stat.st_mode);
}

int lifeline_closed(short revents) {
    // POSIX poll(2): POLLHUP and POLLERR are reported whether asked for or not; a read then returns end
    // of file (0) or the error, so the read decides.
    if (!(revents & (POLLIN | POLLHUP | POLLERR))) return 0;
    char byte;
    ssize_t n = read(lifeline, &byte, 1);
    return n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN);
}

long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int timeout_until(long long deadline, int killed) {
    if (deadline < 0 || killed) return -1;
    long long left = deadline - now_ms();
    return left < 0 ? 0 : (int)(left > 2147483647 ? 2147483647 : left) + 1;
}

void die_of(int signal) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(signal, &dfl, NULL);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, signal);
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    raise(signal);
    exit(128 + signal);
}
