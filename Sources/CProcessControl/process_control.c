#define _GNU_SOURCE
#include "process_control.h"

#include <errno.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int metal_agent_pidfd_open(pid_t pid) {
    // pidfd_open's fds are always close-on-exec.
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int metal_agent_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}

int metal_agent_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

#else

int metal_agent_pidfd_open(pid_t pid) { (void)pid; errno = ENOSYS; return -1; }
int metal_agent_pidfd_send_signal(int pidfd, int signal) { (void)pidfd; (void)signal; errno = ENOSYS; return -1; }
int metal_agent_set_child_subreaper(void) { errno = ENOSYS; return -1; }

#endif
