#define _GNU_SOURCE
#include "process_control.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

int metal_agent_spawn(const char *path, int search, char *const argv[], char *const envp[], int stdin_fd, int out_fd, int new_group, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return rc;
    }
    if (stdin_fd >= 0) {
        rc = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    } else {
        rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
#if defined(__APPLE__)
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_CLOEXEC_DEFAULT;
#else
    // glibc 2.34: close everything else in the child, whatever its close-on-exec flag.
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
#endif
    if (new_group) flags |= POSIX_SPAWN_SETPGROUP;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (rc == 0) rc = posix_spawnattr_setflags(&attributes, flags);
    if (rc == 0) rc = posix_spawnattr_setpgroup(&attributes, 0);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attributes, &all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attributes, &none);
    if (rc == 0) {
        if (search && strchr(path, '/') == NULL) {
            rc = posix_spawnp(pid, path, &actions, &attributes, argv, envp);
        } else {
            rc = posix_spawn(pid, path, &actions, &attributes, argv, envp);
        }
    }
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

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

int metal_agent_name_this_thread(const char *name) {
#if defined(__APPLE__)
    return pthread_setname_np(name);
#else
    char cut[16];
    strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = 0;
    return pthread_setname_np(pthread_self(), cut);
#endif
}
