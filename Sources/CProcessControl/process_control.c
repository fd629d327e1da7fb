#define _GNU_SOURCE
#include "process_control.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

#ifdef __linux__
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int mac_pidfd_open(pid_t pid) {
    // pidfd_open's fds are always close-on-exec.
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int mac_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}

int mac_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int mac_signalfd(const sigset_t *mask) {
    return signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int mac_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n == (ssize_t)sizeof info) return (int)info.ssi_signo;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n >= 0) errno = EIO;
    return -1;
}

pid_t mac_spawn(const char *file, char *const argv[], int death_signal, int *spawn_errno) {
    // The child reports a failed exec through this close-on-exec pipe: EOF means exec succeeded.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) { *spawn_errno = errno; return -1; }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        *spawn_errno = errno;
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        // Only async-signal-safe calls from here to exec.
        if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0 || getppid() != parent) _exit(127);
        struct sigaction dfl;
        dfl.sa_handler = SIG_DFL;
        dfl.sa_flags = 0;
        sigemptyset(&dfl.sa_mask);
        for (int s = 1; s < NSIG; s++) {
            if (s != SIGKILL && s != SIGSTOP) (void)sigaction(s, &dfl, NULL);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0) { int e = errno; (void)!write(report[1], &e, sizeof e); _exit(127); }
        if (null != 0) close(null);
        execvp(file, argv);
        int e = errno;
        (void)!write(report[1], &e, sizeof e);
        _exit(127);
    }
    close(report[1]);
    int child_errno = 0;
    ssize_t n;
    do { n = read(report[0], &child_errno, sizeof child_errno); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof child_errno) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *spawn_errno = child_errno;
        return -1;
    }
    return pid;
}

#else

int mac_pidfd_open(pid_t pid) { (void)pid; errno = ENOSYS; return -1; }
int mac_pidfd_send_signal(int pidfd, int signal) { (void)pidfd; (void)signal; errno = ENOSYS; return -1; }
int mac_set_child_subreaper(void) { errno = ENOSYS; return -1; }
int mac_signalfd(const sigset_t *mask) { (void)mask; errno = ENOSYS; return -1; }
int mac_signalfd_read(int fd) { (void)fd; errno = ENOSYS; return -1; }
pid_t mac_spawn(const char *file, char *const argv[], int death_signal, int *spawn_errno) {
    (void)file; (void)argv; (void)death_signal;
    *spawn_errno = ENOSYS;
    return -1;
}

#endif
