// The setup steps of the container init, in the order main.cc runs them.
#pragma once
#include <sys/types.h>

#include <string>

#include "json.h"

namespace cgroups {
// Stage 1, first: opens the cgroup files plan.cgroupJoin names (host view) and joins what is to
// be joined by the init itself ("init"); the rest waits for forkSibling and joinAfterSetup.
// `hostRoot`: the host's "/" opened before the namespaces were made (plan.namespacesAhead),
// through which the paths are resolved; AT_FDCWD before.
void open(const json::Value& plan, int hostRoot);
// Forks stage 2 as the runtime's child (CLONE_PARENT), born in the unified cgroup when the plan
// says "clone" and the kernel can.
pid_t forkSibling();
// Stage 2, set up (mounts, pivot) but still privileged: joins whatever is left.
void joinAfterSetup();
// Whether the plan leaves the cgroup namespace to stage 2 (ns::enter then skips it): a new one,
// or (exec) the container's, joined through `pidfd` (kept open for stage 2 from then on).
bool namespaceMadeByChild();
void joinNamespaceLaterThrough(int pidfd);
// Stage 2, first: makes or joins that namespace, now that it stands in its cgroup.
void enterChildNamespace();
}  // namespace cgroups

namespace ns {
// Stage 1: first what needs the runtime's privileges (oom_score_adj, I/O priority, hard rlimits,
// the exec fifo, idmapped mount trees), then joins the namespaces given by path, creates the new
// ones (asking the runtime to write the user namespace maps), writes time namespace offsets and
// brings lo up in a new network namespace. Children see all of them. Without `fifoExists`
// (plan.namespacesAhead) the fifo is left for stage 2 to open by path.
void enter(const json::Value& plan, bool fifoExists);
// The fd stage 1 opened for `path` (the exec fifo), handed over once; -1 if none.
int preopened(const char* path);
// Whether setgroups(2) is denied in the container's user namespace (read on the host's /proc).
bool setgroupsDenied();
// The detached idmapped tree stage 1 made for plan.mounts[index]; -1 if none.
int idmappedMount(size_t index);
// An O_PATH fd of plan.mounts[index]'s bind source opened in the container's mount namespace
// with the host's privileges (user namespaces only); -1: mount by path.
int bindSource(size_t index);
}  // namespace ns

namespace rootfs {
// Stage 2, before the createRuntime hooks: propagation, every mount, devices and /dev links.
void prepare(const json::Value& plan);
// Stage 2, after the hooks: pivot_root (or move+chroot), masked and read-only paths, ro root.
void enter(const json::Value& plan);
// Opens `path` (host view) as O_PATH so it can be reopened through /proc/self/fd after pivot
// (or hands over the fd stage 1 opened for it).
int openPath(const char* path);
}  // namespace rootfs

namespace proc {
// Hostname, domainname, AppArmor exec profile and sysctl: rootfs::enter calls it after the
// pivot, before /proc/sys goes read-only (runc's order); once only.
void configureKernel(const json::Value& plan);
// Everything else that must happen while still privileged: rlimits, keyring, cwd, scheduler,
// SELinux exec label (and configureKernel when rootfs::enter did not run, for exec).
void configure(const json::Value& plan);
// Resolves process.args[0] through the container's PATH; fails the init if it is missing.
std::string lookPath(const json::Value& process);
// Drops to the configured user and capabilities, no_new_privs, runtime fds close-on-exec,
// personality and the final CPU affinity.
void finalize(const json::Value& plan);
// execve of the container's process. Does not return.
[[noreturn]] void execute(const json::Value& plan, const std::string& executable);
}  // namespace proc

namespace hooks {
// Runs each hook of `list` in order with `state` (OCI state JSON) on stdin and, for hooks
// without an env of their own, `processEnv`; fails the init on the first one that fails or
// outlives its timeout.
void run(const char* kind, const json::Value& list, const std::string& state, const json::Value& processEnv);
}  // namespace hooks

namespace terminal {
// Allocates the container's pty, sends the master to the runtime, makes the slave stdio and the
// controlling terminal.
void setup(const json::Value& plan);
}  // namespace terminal
