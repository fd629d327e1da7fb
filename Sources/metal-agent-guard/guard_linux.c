// The Linux runtime guard (see main.c for usage and the handshake). Compiled on Linux unless built
// with METAL_AGENT_PORTABLE=1 (then guard_posix.c is the guard).
//
// Why Linux calls: a helper that escaped the process group with setsid(2) must not outlive the
// runtime either, and the runtime must die with its guard. Linux's parent-death signal
// (PR_SET_PDEATHSIG) fires when the parent *thread* exits; this guard is single-threaded, so its
// runtime gets SIGKILL exactly when the guard dies.
//
// What it does (process tree: agent -> guard -> runtime -> helpers):
// - leads the process group the agent created for it; the runtime and its helpers stay in it;
// - is a child subreaper (PR_SET_CHILD_SUBREAPER), so helpers whose parent died (daemonized, setsid,
//   double fork) are re-parented to it, stay its descendants, and are reaped by it at once;
// - end of file on the lifeline means the agent is gone (however it died): it stops the runtime;
// - every catchable signal goes through a signalfd: SIGTERM, SIGINT, SIGHUP and SIGQUIT start a stop,
//   SIGCHLD means reaping, every other one (SIGUSR1, SIGALRM, SIGTSTP, ...) is ignored, so only SIGKILL
//   ends it early (then its runtime gets SIGKILL too, and the agent, a subreaper, stops any helper);
// - a stop: SIGTERM once to every descendant, then after the grace period SIGKILL to every descendant
//   still alive (Kubernetes' terminationGracePeriodSeconds semantics);
// - when the runtime exits: SIGKILL to every descendant left, reaps them, and exits with the runtime's
//   exit code, or dies of the runtime's signal, so the agent sees the runtime's own termination;
// - every signal to a descendant goes by identity (pid and start time, through a pidfd), so a process
//   that exited after the /proc scan and whose pid a stranger took is never signalled.
#define _GNU_SOURCE
#include "guard_common.h"
#if METAL_AGENT_LINUX_GUARD
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "process_control.h"

// ---------------------------------------------------------------------------------------------------
// The process tree, from /proc/<pid>/stat (proc(5)).

struct proc_entry { pid_t pid, parent; unsigned long long start; };

// Reads pid's parent and start time (field 22); 0 on success, -1 if gone or a zombie.
static int read_stat(pid_t pid, pid_t *parent, unsigned long long *start) {
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = 0;
    char *close_paren = strrchr(text, ')');  // comm may hold spaces and parentheses
    if (!close_paren) return -1;
    char state = 0;
    int field = 2;
    for (char *token = strtok(close_paren + 1, " \n"); token; token = strtok(NULL, " \n")) {
        field++;
        if (field == 3) state = token[0];
        else if (field == 4) *parent = (pid_t)strtol(token, NULL, 10);
        else if (field == 22) {
            *start = strtoull(token, NULL, 10);
            return (state == 'Z' || state == 'X') ? -1 : 0;
        }
    }
    return -1;
}

// Appends the children of `pid` (every thread's /proc/<pid>/task/<tid>/children, Linux 3.5) to *list.
// Returns 0, or -1 when the kernel has no such files (then the caller scans all of /proc).
static int append_children(pid_t pid, pid_t **list, size_t *count, size_t *capacity) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (!tasks) return 0;  // it exited meanwhile
    int found_file = 0;
    struct dirent *task;
    while ((task = readdir(tasks))) {
        if (task->d_name[0] < '0' || task->d_name[0] > '9') continue;
        char file[96];
        snprintf(file, sizeof file, "/proc/%d/task/%s/children", (int)pid, task->d_name);
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        found_file = 1;
        char text[4096];
        ssize_t n;
        char carry[16] = {0};
        size_t carried = 0;
        while ((n = read(fd, text, sizeof text)) > 0) {
            for (ssize_t i = 0; i < n; i++) {
                if (text[i] >= '0' && text[i] <= '9') {
                    if (carried < sizeof carry - 1) carry[carried++] = text[i];
                } else if (carried) {
                    carry[carried] = 0;
                    if (*count == *capacity) {
                        size_t bigger = *capacity ? *capacity * 2 : 64;
                        pid_t *grown = realloc(*list, bigger * sizeof **list);
                        if (!grown) { close(fd); closedir(tasks); return 0; }
                        *list = grown;
                        *capacity = bigger;
                    }
                    (*list)[(*count)++] = (pid_t)atoi(carry);
                    carried = 0;
                }
            }
        }
        close(fd);
    }
    closedir(tasks);
    return found_file ? 0 : -1;
}

// Every live descendant of this process, parents before children, found by walking children lists
// (cost in proportion to the tree, not to every process of the machine: 1,000 guards stopping at once
// must not each read all of /proc). Falls back to a scan of /proc when children lists are missing.
// Returns the count, *out malloc'ed.
static size_t descendants_by_scan(struct proc_entry **out);

static size_t descendants(struct proc_entry **out) {
    pid_t *queue = NULL;
    size_t count = 0, capacity = 0, next = 0;
    if (append_children(getpid(), &queue, &count, &capacity) != 0) {
        free(queue);
        return descendants_by_scan(out);
    }
    while (next < count) {
        pid_t pid = queue[next++];
        append_children(pid, &queue, &count, &capacity);
    }
    struct proc_entry *result = malloc((count + 1) * sizeof *result);
    size_t found = 0;
    for (size_t i = 0; result && i < count; i++) {
        struct proc_entry e = {queue[i], 0, 0};
        if (read_stat(e.pid, &e.parent, &e.start) == 0) result[found++] = e;  // skips zombies and the gone
    }
    free(queue);
    *out = result;
    return result ? found : 0;
}

static size_t descendants_by_scan(struct proc_entry **out) {
    size_t count = 0, capacity = 256;
    struct proc_entry *all = malloc(capacity * sizeof *all);
    DIR *dir = opendir("/proc");
    if (!all || !dir) {
        if (dir) closedir(dir);
        free(all);
        *out = NULL;
        return 0;
    }
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        struct proc_entry e = {(pid_t)pid, 0, 0};
        if (read_stat(e.pid, &e.parent, &e.start) != 0) continue;
        if (count == capacity) {
            struct proc_entry *grown = realloc(all, 2 * capacity * sizeof *all);
            if (!grown) break;
            all = grown;
            capacity *= 2;
        }
        all[count++] = e;
    }
    closedir(dir);
    // Breadth-first from this process: a queue of pids whose children are collected next.
    struct proc_entry *result = malloc((count + 1) * sizeof *result);
    size_t found = 0, next = 0;
    pid_t me = getpid();
    if (result) {
        pid_t parent = me;
        for (;;) {
            for (size_t i = 0; i < count; i++) {
                if (all[i].parent == parent && all[i].pid != me) result[found++] = all[i];
            }
            if (next == found) break;
            parent = result[next++].pid;
        }
    }
    free(all);
    *out = result;
    return result ? found : 0;
}

// Sends `signal` to `e` only if its pid still holds that process (same start time): the pidfd is opened
// first, so if the start time matches afterwards, the pidfd is that process and no reuse can intervene.
static void signal_identity(const struct proc_entry *e, int signal) {
    int pidfd = metal_agent_pidfd_open(e->pid);
    pid_t parent;
    unsigned long long start;
    int same = read_stat(e->pid, &parent, &start) == 0 && start == e->start;
    if (pidfd < 0) {
        if ((errno == ENOSYS || errno == EPERM) && same) kill(e->pid, signal);  // kernel before 5.3
        return;
    }
    if (same) (void)metal_agent_pidfd_send_signal(pidfd, signal);
    close(pidfd);
}

static size_t signal_descendants(int signal) {
    struct proc_entry *list;
    size_t n = descendants(&list);
    for (size_t i = 0; i < n; i++) signal_identity(&list[i], signal);
    free(list);
    return n;
}

// SIGKILL to every descendant, again and again until this process has no child left, live or zombie
// (a descendant may fork between a walk and its kill, and children lists can miss a process that
// changes meanwhile; whatever is missed comes to this subreaper and is found next round). Waits for
// exits on the signalfd (SIGCHLD), 10 ms at a time, never blocking in waitpid.
static void kill_all_descendants(int signals) {
    for (;;) {
        signal_descendants(SIGKILL);
        int status;
        pid_t reaped;
        while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {}
        if (reaped < 0 && errno == ECHILD) return;
        struct pollfd fd = {signals, POLLIN, 0};
        (void)poll(&fd, 1, 10);
        struct signalfd_siginfo info;
        while (read(signals, &info, sizeof info) == (ssize_t)sizeof info) {}
    }
}

// ---------------------------------------------------------------------------------------------------

// fork + exec of the runtime: it gets SIGKILL when this guard dies, an empty signal mask and default
// dispositions (SIGPIPE ignored), stdin from /dev/null; stdout, stderr and the process group stay this guard's. Returns
// its pid, or -1 with *spawn_errno from fork or exec (the child, if any, reaped).
static pid_t spawn_runtime(char *const argv[], int *spawn_errno) {
    int report[2];  // the child reports a failed exec here (close-on-exec: EOF means exec succeeded)
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
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent) _exit(127);
        exec_runtime(argv, report[1]);
    }
    close(report[1]);
    *spawn_errno = exec_error(pid, report[0]);
    if (*spawn_errno != 0) return -1;
    return pid;
}

int guard_run(double grace, char **command) {

    (void)metal_agent_set_child_subreaper();
    // Every signal goes through the signalfd; faults stay deliverable.
    sigset_t mask;
    sigfillset(&mask);
    int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
    for (size_t f = 0; f < sizeof faults / sizeof faults[0]; f++) sigdelset(&mask, faults[f]);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int signals = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signals < 0) fail("signalfd: ", strerror(errno));

    int spawn_errno = 0;
    pid_t runtime = spawn_runtime(command, &spawn_errno);
    if (runtime <= 0) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s: %s", command[0], strerror(spawn_errno));
        fail("cannot execute ", detail);
    }
    // Only a socket is a lifeline: run by hand (stdin a terminal, a file, /dev/null) there is no agent to lose.
    int watching_lifeline = lifeline_is_socket();
    if (watching_lifeline) say(lifeline, "pid %d\n", (int)runtime);

    int runtime_status = 0, runtime_done = 0, killed = 0;
    long long deadline = -1;
    while (!runtime_done) {
        struct pollfd fds[2] = {{signals, POLLIN, 0}, {lifeline, POLLIN, 0}};
        int ready = poll(fds, watching_lifeline ? 2 : 1, timeout_until(deadline, killed));
        if (ready < 0 && errno != EINTR) fail("poll: ", strerror(errno));

        struct signalfd_siginfo info;
        while (read(signals, &info, sizeof info) == (ssize_t)sizeof info) {
            int s = (int)info.ssi_signo;
            if ((s == SIGTERM || s == SIGINT || s == SIGHUP || s == SIGQUIT) && deadline < 0) {
                note("received signal %d: stopping the runtime (pid %d), grace %g s", s, (int)runtime, grace);
                deadline = now_ms() + (long long)(grace * 1000);
                signal_descendants(SIGTERM);
            }
        }
        if (watching_lifeline && lifeline_closed(fds[1].revents)) {
            watching_lifeline = 0;
            if (deadline < 0) {
                note("the agent is gone (lifeline closed): stopping the runtime (pid %d), grace %g s", (int)runtime, grace);
                deadline = now_ms() + (long long)(grace * 1000);
                signal_descendants(SIGTERM);
            }
        }
        // Reap whatever ended: the runtime, or re-parented helpers.
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid == runtime) { runtime_status = status; runtime_done = 1; }
        }
        if (deadline >= 0 && !killed && now_ms() >= deadline) {
            note("grace period over: SIGKILL");
            killed = 1;
            signal_descendants(SIGKILL);
        }
    }

    // The runtime is gone; so is everything it left behind.
    kill_all_descendants(signals);
    if (WIFEXITED(runtime_status)) return WEXITSTATUS(runtime_status);
    die_of(WTERMSIG(runtime_status));
    return 127;
}

#endif
