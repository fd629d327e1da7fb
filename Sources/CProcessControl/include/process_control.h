// The few process-control calls Swift cannot import: prctl(2) is variadic, pidfd_open(2) and
// pidfd_send_signal(2) have no glibc wrapper before 2.36, and sock_diag(7) is a netlink protocol of
// kernel structs. Used by the agent (child subreaper, who listens on a runtime's port) and by
// ProcessIdentity's race-free signal. The runtime guard is its own C program
// (Sources/metal-agent-guard). Linux only; elsewhere each call fails with ENOSYS.
#ifndef METAL_AGENT_PROCESS_CONTROL_H
#define METAL_AGENT_PROCESS_CONTROL_H

#include <signal.h>
#include <sys/types.h>

/// Makes the calling process a child subreaper (PR_SET_CHILD_SUBREAPER, Linux 3.4): orphaned
/// descendants are re-parented to it instead of to init. Returns 0, or -1 with errno.
int metal_agent_set_child_subreaper(void);

/// pidfd_open(2) (Linux 5.3): a file descriptor that refers to the process `pid` holds now, and keeps
/// referring to that very process after it exits, even when the pid is reused. Close-on-exec.
/// Returns the fd, or -1 with errno (ESRCH: no such process; ENOSYS: kernel too old).
int metal_agent_pidfd_open(pid_t pid);

/// pidfd_send_signal(2) (Linux 5.1): sends `signal` to the process `pidfd` refers to, never to a
/// process that reused its pid. Returns 0, or -1 with errno (ESRCH: it has exited).
int metal_agent_pidfd_send_signal(int pidfd, int signal);

/// Starts `path` (searched in PATH when `search` is non-zero and `path` has no slash) with `argv` and
/// `envp` (NULL-terminated) through posix_spawn(3): in a process group of its own (pgid = pid) when
/// `new_group` is non-zero (else in the caller's), with every signal at its default disposition and
/// none blocked, stdin from `stdin_fd` (/dev/null when -1), stdout and stderr to `out_fd`, and no other
/// descriptor open (closefrom 3; POSIX_SPAWN_CLOEXEC_DEFAULT on macOS), so that the child holds no copy
/// of a pipe or file another thread has open at that moment.
/// Returns 0 and sets `*pid`, or an errno value (ENOENT: no such executable).
int metal_agent_spawn(const char *path, int search, char *const argv[], char *const envp[], int stdin_fd, int out_fd, int new_group, pid_t *pid);

/// Names the calling thread (pthread_setname_np(3), a GNU extension Swift's Glibc module does not
/// export): at most 15 bytes on Linux, longer names are cut. Returns 0 or an errno value.
int metal_agent_name_this_thread(const char *name);

/// One TCP socket in the LISTEN state, as the kernel's socket diagnostics describe it.
struct metal_agent_tcp_listener {
    /// The socket's inode, as `/proc/<pid>/fd/<n>` shows it (`socket:[inode]`).
    unsigned long long inode;
    /// AF_INET or AF_INET6.
    int family;
    /// For AF_INET6: 1 when the socket accepts IPv6 only (IPV6_V6ONLY), 0 when it also takes IPv4.
    int v6only;
    /// The local address it is bound to, in network order: 4 bytes for AF_INET, 16 for AF_INET6; all
    /// zeros for the wildcard (0.0.0.0 or ::).
    unsigned char address[16];
};

/// The TCP sockets that listen on `port` (any address, IPv4 and IPv6), from the kernel's socket
/// diagnostics (NETLINK_SOCK_DIAG, sock_diag(7), Linux 3.3): up to `capacity` are written to
/// `listeners`. Returns how many listen there (which may exceed `capacity`), or -1 with errno (ENOSYS
/// elsewhere than Linux; EPROTONOSUPPORT or ENOENT when the kernel has no TCP socket diagnostics).
int metal_agent_tcp_listeners(int port, struct metal_agent_tcp_listener *listeners, int capacity);

#endif
