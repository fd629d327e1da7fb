// What both runtime guards share (see main.c for what a guard is): the handshake and messages, the
// runtime's side of fork+exec, the lifeline test, and how the guard ends with its runtime's status.
// One guard per platform: guard_linux.c (Linux: subreaper, signalfd, pidfd, /proc walks) and
// guard_posix.c (portable POSIX: macOS, and Linux built with METAL_AGENT_PORTABLE=1).
#ifndef METAL_AGENT_GUARD_COMMON_H
#define METAL_AGENT_GUARD_COMMON_H

#include <sys/types.h>
#include <unistd.h>

/// Which guard this build compiles: the Linux one unless METAL_AGENT_PORTABLE is defined (Package.swift
/// defines it when built with METAL_AGENT_PORTABLE=1) or the platform is not Linux.
#if defined(__linux__) && !defined(METAL_AGENT_PORTABLE)
#define METAL_AGENT_LINUX_GUARD 1
#else
#define METAL_AGENT_LINUX_GUARD 0
#endif

/// The lifeline: the guard's stdin, one end of a socket pair whose other end only the agent holds.
enum { lifeline = 0 };

/// Writes one formatted line (at most 1023 bytes) to `fd`, retrying short writes; errors are dropped.
void say(int fd, const char *format, ...) __attribute__((format(printf, 2, 3)));

/// A note on stderr (the runtime's log): "metal-agent guard[<pid>]: <message>".
#define note(...) do { say(2, "metal-agent guard[%d]: ", (int)getpid()); say(2, __VA_ARGS__); say(2, "\n"); } while (0)

/// Says "error <message><detail>" on the lifeline (and as a note), then exits 127.
void fail(const char *message, const char *detail) __attribute__((noreturn));

/// Runs the guard once its arguments are parsed: starts `command` (argv, NULL-terminated) and
/// returns the exit code to end with (or does not return). One definition per platform.
int guard_run(double grace_seconds, char **command);

/// The runtime's side of fork+exec, in the forked child (async-signal-safe calls only): every signal
/// disposition back to default but SIGPIPE ignored, an empty signal mask, stdin from /dev/null, then
/// execvp(3). On failure writes errno (an int) to `report` and _exits 127.
void exec_runtime(char *const argv[], int report) __attribute__((noreturn));

/// The guard's side: reads `report` (close-on-exec, so end of file means the exec succeeded) and closes
/// it. Returns 0, or the child's errno after reaping the child `pid`.
int exec_error(pid_t pid, int report);

/// Whether the lifeline is a socket (run by hand, stdin a terminal, a file or /dev/null is no lifeline:
/// there is no agent to lose).
int lifeline_is_socket(void);

/// After poll(2) reported `revents` on the lifeline: reads it, and returns 1 if it is closed (end of
/// file, or an error: the agent is gone), else 0.
int lifeline_closed(short revents);

/// CLOCK_MONOTONIC in milliseconds.
long long now_ms(void);

/// The poll(2) timeout until `deadline` (now_ms() time; -1 or `killed` means no deadline: -1).
int timeout_until(long long deadline, int killed);

/// Ends this process by `signal` (no core file), so its parent sees the same termination as the
/// runtime's; exit(128 + signal) if that signal does not end it.
void die_of(int signal) __attribute__((noreturn));

#endif
