// The container process's own cgroup join (plan.cgroupJoin, runts' fs driver on hosts with v1
// hierarchies). A pid the runtime writes into cgroup.procs takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet spell waits out an
// RCU grace period: 4-25 ms here, more than all the rest of create's kernel work. Two ways in
// take that lock only for reading:
//  - a single-threaded process writing "0" (itself) into a v1 hierarchy's `tasks` file;
//  - clone3 with CLONE_INTO_CGROUP, for the unified (v2) hierarchy, where a domain cgroup takes
//    whole processes only.
// Stage 1 opens every file while it still sees the host; the runtime says when each part joins
// (policy: planCgroupJoin in src/plan/plan.ts). A new cgroup namespace is rooted where its maker
// stands: when stage 2 is born in its cgroup, stage 2 makes it (or, for exec, joins it).
#include <fcntl.h>
#include <sched.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "channel.h"
#include "steps.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

namespace cgroups {
namespace {

struct OpenFile {
  std::string path;
  int fd;
};

std::vector<OpenFile> tasks;
OpenFile unifiedProcs{"", -1};
int unifiedDir = -1;
std::string unifiedDirPath;
bool namespaceByChild = false;
int namespacePidfd = -1;

int hostRootFd = AT_FDCWD;

// An absolute host path, resolved from hostRootFd: the host's mounts even from a new mount
// namespace (and the fd's path stays the host's one, as /proc/<pid>/fd shows it).
int openHostPath(const std::string& path, int flags) {
  const char* relative = path.c_str();
  if (hostRootFd != AT_FDCWD)
    while (*relative == '/') relative++;
  return openat(hostRootFd, relative, flags);
}

OpenFile openForWriting(const std::string& path) {
  int fd = openHostPath(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) channel::fail("open " + path, errno);
  return {path, fd};
}

void writeSelf(OpenFile& file) {
  if (file.fd < 0) return;
  if (write(file.fd, "0", 1) != 1) channel::fail("join the cgroup through " + file.path, errno);
  close(file.fd);
  file.fd = -1;
}

void joinTasks() {
  for (OpenFile& file : tasks) writeSelf(file);
  tasks.clear();
}

void closeUnifiedDir() {
  if (unifiedDir >= 0) close(unifiedDir);
  unifiedDir = -1;
}

}  // namespace

void open(const json::Value& plan, int hostRoot) {
  hostRootFd = hostRoot;
  const json::Value& join = plan["cgroupJoin"];
  if (join.isNull()) return;
  for (const std::string& path : join["tasks"].strings()) tasks.push_back(openForWriting(path));
  const std::string tasksAt = join["tasksAt"].str(), unifiedAt = join["unifiedAt"].str();
  if (!join["unified"].isNull()) {
    unifiedDirPath = join["unified"].str();
    unifiedProcs = openForWriting(unifiedDirPath + "/cgroup.procs");
    if (unifiedAt == "clone" && (unifiedDir = openHostPath(unifiedDirPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
      channel::fail("open " + unifiedDirPath, errno);
  }
  namespaceByChild = join["cgroupNamespaceByChild"].flag();
  if (tasksAt == "init") joinTasks();
  if (unifiedAt == "init") writeSelf(unifiedProcs);
}

bool namespaceMadeByChild() { return namespaceByChild; }

void joinNamespaceLaterThrough(int pidfd) { namespacePidfd = pidfd; }

// exec into a cgroup namespace: a clone into a cgroup outside the cloner's namespace fails with
// ENOENT where cgroup2 is mounted with nsdelegate (systemd's hosts), so stage 2 joins it once born.
void enterChildNamespace() {
  if (!namespaceByChild) return;
  if (namespacePidfd < 0) {
    if (unshare(CLONE_NEWCGROUP) < 0) channel::fail("unshare cgroup namespace", errno);
    return;
  }
  if (setns(namespacePidfd, CLONE_NEWCGROUP) < 0) channel::fail("join the container's cgroup namespace", errno);
  close(namespacePidfd);
  namespacePidfd = -1;
}

pid_t forkSibling() {
  if (unifiedDir >= 0) {
    struct clone_args args = {};
    // With CLONE_PARENT clone3 takes no exit signal: the child gets stage 1's own (SIGCHLD).
    args.flags = CLONE_PARENT | CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(unifiedDir);
    long pid = syscall(SYS_clone3, &args, sizeof args);
    int err = errno;
    closeUnifiedDir();
    if (pid >= 0) {
      close(unifiedProcs.fd);
      unifiedProcs.fd = -1;
      return static_cast<pid_t>(pid);
    }
    // Kernels before 5.7 know no CLONE_INTO_CGROUP (EINVAL, E2BIG) or no clone3 (ENOSYS): stage 1
    // joins through cgroup.procs and the child is born there all the same, before it makes a
    // cgroup namespace of its own.
    if (err != ENOSYS && err != E2BIG && err != EINVAL) channel::fail("clone the container process into " + unifiedDirPath, err);
    writeSelf(unifiedProcs);
  }
  return static_cast<pid_t>(syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

void joinAfterSetup() {
  joinTasks();
  writeSelf(unifiedProcs);
}

}  // namespace cgroups
