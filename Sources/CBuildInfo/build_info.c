#include "build_info.h"

#ifndef METAL_AGENT_GIT_COMMIT
#define METAL_AGENT_GIT_COMMIT "unknown"
#endif

const char *metal_agent_git_commit(void) { return METAL_AGENT_GIT_COMMIT; }
