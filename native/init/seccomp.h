// The container's seccomp filter: built with libseccomp from the plan's "seccomp" section
// (src/plan/seccomp.ts decides everything), exported as BPF, prefixed with runc's -ENOSYS stub and
// loaded with seccomp(2).
#pragma once
#include <string>

#include "json.h"

namespace seccomp {

// Builds and loads the filter plan["seccomp"] describes (nothing when it is null). Returns the
// user-notification listener fd when a rule uses SCMP_ACT_NOTIFY, else -1. Fails the init on
// any error.
int load(const json::Value& plan);

// Hands a listener fd from load() to the runtime (a "seccomp-listener" frame, then the fd as
// SCM_RIGHTS), waits until the runtime has passed it on to listenerPath, and closes it.
// Does nothing for -1.
void passListener(int fd);

// "major.minor.micro" of the libseccomp linked into this binary.
std::string linkedVersion();

}  // namespace seccomp
