// metal-agent-guard: the small process between the agent and each runtime.
//
// Why it exists: a runtime must not outlive the agent, even when the agent is SIGKILLed. The agent
// cannot arrange that itself (Linux's parent-death signal fires when the parent *thread* exits, and the
// agent's Swift concurrency threads come and go; macOS has no such signal at all). This guard can: it
// is single-threaded, holds the agent's "lifeline" socket, and stops its runtime when the lifeline
// closes. It is plain C so that each one costs a few hundred kilobytes and starts in well under a
// millisecond (issue 12: the earlier guard was a second copy of the Swift agent, about 27 MB RSS and
// 3 MB private each).
//
// Usage (the agent starts it as the leader of a new process group; its stdin is one end of a socket
// pair, the lifeline):
//   metal-agent-guard [guard] [--grace-seconds S] -- RUNTIME [ARGS...]
// argv[0] and the optional word "guard" are ignored, so the agent can show it in ps(1) as
// "metal-agent guard --grace-seconds S -- RUNTIME ...".
//
// Handshake on the lifeline: one line, "pid <runtime pid>" once the runtime is exec'd, or
// "error <message>" when it cannot be started (then it exits 127). A stdin that is not a socket is no
// lifeline (the guard run by hand): then only signals stop the runtime.
//
// Two implementations, one chosen at build time (guard_common.h):
// - guard_linux.c (Linux): a child subreaper that tracks every descendant, helpers that left the
//   process group with setsid(2) included; the runtime also dies by PR_SET_PDEATHSIG with its guard.
// - guard_posix.c (macOS, and Linux built with METAL_AGENT_PORTABLE=1): portable POSIX calls only;
//   it stops the runtime's process group, and cannot follow helpers that left it.
// Both: SIGTERM, SIGINT, SIGHUP and SIGQUIT, or the end of the lifeline, start a stop (SIGTERM, the
// grace period, then SIGKILL: Kubernetes' terminationGracePeriodSeconds semantics); every other
// catchable signal is ignored; the guard ends with its runtime's own exit code or signal.
#include <stdlib.h>
#include <string.h>

#include "guard_common.h"

int main(int argc, char *argv[]) {
    double grace = 30;  // Kubernetes' default terminationGracePeriodSeconds
    int i = 1;
    if (i < argc && strcmp(argv[i], "guard") == 0) i++;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) { i++; break; }
        if (strcmp(argv[i], "--grace-seconds") == 0 && i + 1 < argc) {
            char *end;
            grace = strtod(argv[++i], &end);
            if (*end || grace < 0) fail("--grace-seconds needs a number of seconds, found ", argv[i]);
        } else {
            fail("unknown argument ", argv[i]);
        }
    }
    if (i >= argc) fail("no runtime command given", "");
    return guard_run(grace, &argv[i]);
}
