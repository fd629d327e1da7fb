#ifndef METAL_AGENT_BUILD_INFO_H
#define METAL_AGENT_BUILD_INFO_H

/// The git commit metal-agent was built from: `scripts/build-release` defines METAL_AGENT_GIT_COMMIT
/// (`-Xcc -DMETAL_AGENT_GIT_COMMIT=...`); other builds say "unknown".
const char *metal_agent_git_commit(void);

#endif
