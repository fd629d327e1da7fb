// The few process-control calls Swift cannot import: prctl(2) is variadic, signalfd(2) has no Swift
// module header, fork(2) is unavailable in Swift, and pidfd_open(2)/pidfd_send_signal(2) have no glibc
// wrapper before 2.36. Used by the runtime guard (`metal-agent guard`,
// Sources/Supervisor/RuntimeGuard.swift) and by ProcessIdentity's race-free signal. Linux only; elsewhere each call fails
// with ENOSYS.
#ifndef METAL_AGENT_PROCESS_CONTROL_H
#define METAL_AGENT_PROCESS_CONTROL_H

#include <signal.h>
#include <sys/types.h>

/// Makes the calling process a child subreaper (PR_SET_CHILD_SUBREAPER, Linux 3.4): orphaned
/// descendants are re-parented to it instead of to init. Returns 0, or -1 with errno.
int mac_set_child_subreaper(void);

/// A non-blocking, close-on-exec signalfd(2) for the signals in `mask` (which the caller must block).
/// Returns the fd, or -1 with errno.
int mac_signalfd(const sigset_t *mask);

/// Reads one pending signal from a signalfd. Returns its number, 0 when none is pending, -1 with errno.
int mac_signalfd_read(int fd);

/// fork(2) + execvp(2) of `file` with `argv` (NULL-terminated), such that the child:
/// gets `death_signal` when the calling thread exits (PR_SET_PDEATHSIG; it exits at once if the
/// caller is already gone), has an empty signal mask and default dispositions for every signal,
/// reads stdin from /dev/null, and keeps stdout, stderr and the process group of the caller.
/// Returns the child's pid; or -1 with `*spawn_errno` set to the errno of fork or exec (the child,
/// if any, has been reaped).
pid_t mac_spawn(const char *file, char *const argv[], int death_signal, int *spawn_errno);

/// pidfd_open(2) (Linux 5.3): a file descriptor that refers to the process `pid` holds now, and keeps
/// referring to that very process after it exits, even when the pid is reused. Close-on-exec.
/// Returns the fd, or -1 with errno (ESRCH: no such process; ENOSYS: kernel too old).
int mac_pidfd_open(pid_t pid);

/// pidfd_send_signal(2) (Linux 5.1): sends `signal` to the process `pidfd` refers to, never to a
/// process that reused its pid. Returns 0, or -1 with errno (ESRCH: it has exited).
int mac_pidfd_send_signal(int pidfd, int signal);

#endif
