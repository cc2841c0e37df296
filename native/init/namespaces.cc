// Stage 1: what must happen with the runtime's privileges (before a new user namespace takes
// them away), then joining and creating the namespaces. Everything set here is inherited by
// stage 2, the container's first process.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "channel.h"
#include "protocol.h"
#include "procfs.h"
#include "steps.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace ns {

namespace {

// The exec fifo, opened while the state directory is still reachable (a process that is root
// only in a new user namespace cannot traverse the runtime's 0700 state directory).
std::string fifoPath;
int fifoFd = -1;

// Whether the user namespace we end up in has setgroups(2) denied: read from the host's /proc
// once the user namespace is settled, before any other namespace (the mount one) is joined.
bool setgroupsDeny = false;

void readSetgroups() {
  std::string text = procfs::read(procfs::host(), "self/setgroups", "/proc/self/setgroups", 16);
  setgroupsDeny = text.compare(0, 4, "deny") == 0;
}

// Detached idmapped mount trees, by index in plan.mounts (-1: not an idmapped mount).
std::vector<int> idmappedTrees;

// O_PATH fds of bind mount sources, by index in plan.mounts (-1: mount by path), opened from the
// container's mount namespace by a helper that is still the host's root: a source only the
// host's root may reach can then be bound into a user-namespaced container (runc 1.1 does the
// same in nsexec). The mount made from such an fd is the namespace's own copy, flags locked.
std::vector<int> bindSources;

// One record of the source helper: the mount index (-1 ends the list) and an errno; an fd
// rides along (SCM_RIGHTS) when err is 0 and index >= 0.
struct SourceRecord {
  int32_t index;
  int32_t err;
};

int cloneFlag(const std::string& type) {
  if (type == "mount") return CLONE_NEWNS;
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "time") return CLONE_NEWTIME;
  channel::fail("unknown namespace type " + type, 0);
}

struct Joined {
  std::string type;
  std::string path;
  int fd;
};

void join(const Joined& target) {
  if (setns(target.fd, cloneFlag(target.type)) < 0) {
    if (errno == EINVAL) channel::fail("namespace path " + target.path + " is not a " + target.type + " namespace", 0);
    channel::fail("setns " + target.type + " namespace " + target.path, errno);
  }
  close(target.fd);
}

bool writeAll(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

std::string offsetLine(const char* clock, const json::Value& o) {
  if (o.isNull()) return "";
  return std::string(clock) + " " + std::to_string(o["secs"].i64()) + " " + std::to_string(o["nanosecs"].i64()) + "\n";
}

void writeTimeOffsets(const json::Value& offsets) {
  if (offsets.isNull()) return;
  std::string text = offsetLine("monotonic", offsets["monotonic"]) + offsetLine("boottime", offsets["boottime"]);
  if (text.empty()) return;
  // The offsets apply to the children's time namespace; no process may have entered it yet.
  // After the uid change into a new user namespace /proc/self belongs to the host's root unless
  // the process is dumpable: be so only for this write, as runc's nsexec does.
  int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (dumpable != 1 && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) channel::fail("prctl PR_SET_DUMPABLE", errno);
  bool written = procfs::write(procfs::host(), "self/timens_offsets", text, "/proc/self/timens_offsets");
  int err = errno;
  if (dumpable >= 0 && dumpable != 1) prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
  if (!written) channel::fail("write /proc/self/timens_offsets", err);
}

void becomeNamespaceRoot() {
  if (setresgid(0, 0, 0) < 0) channel::fail("setresgid to the user namespace's root", errno);
  if (setresuid(0, 0, 0) < 0) channel::fail("setresuid to the user namespace's root", errno);
}

void setAffinity(const json::Value& cpus, const char* which) {
  if (cpus.isNull()) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (size_t i = 0; i < cpus.size(); i++) {
    uint64_t cpu = cpus.at(i).u64();
    if (cpu < CPU_SETSIZE) CPU_SET(cpu, &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) < 0) channel::fail(std::string("set the ") + which + " CPU affinity", errno);
}

// A user namespace drops the right to raise hard limits above the current ones (runc sets the
// limits from its own, privileged, process for that reason). Raise the hard limits that need it
// here; stage 2 then sets the exact values, which only lowers or moves soft limits.
void raiseHardLimits(const json::Value& rlimits) {
  for (size_t i = 0; i < rlimits.size(); i++) {
    const json::Value& r = rlimits.at(i);
    auto resource = static_cast<__rlimit_resource>(r["resource"].i64());
    struct rlimit now;
    if (getrlimit(resource, &now) < 0) channel::fail("getrlimit " + r["type"].str(), errno);
    rlim_t hard = r["hard"].u64();
    if (now.rlim_max >= hard) continue;  // RLIM_INFINITY is the largest value
    now.rlim_max = hard;
    if (now.rlim_cur > hard) now.rlim_cur = hard;
    if (setrlimit(resource, &now) < 0) channel::fail("setrlimit " + r["type"].str(), errno);
  }
}

// A user namespace holding `uidMap`/`gidMap`, for MOUNT_ATTR_IDMAP: a child unshares it and
// waits while we (still the host's root) write its maps and take a reference to it.
int mappedUserNamespace(const std::string& uidMap, const std::string& gidMap, const std::string& what) {
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) < 0) channel::fail("pipe", errno);
  pid_t child = static_cast<pid_t>(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (child < 0) channel::fail("create the user namespace for " + what, errno);
  if (child == 0) {
    close(gate[1]);
    char byte;
    while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(gate[0]);
  std::string base = "/proc/" + std::to_string(child);
  int fd = -1;
  if (!writeAll(base + "/uid_map", uidMap)) {
    int err = errno;
    kill(child, SIGKILL);
    channel::fail("write the uid mappings of " + what, err);
  }
  if (!writeAll(base + "/gid_map", gidMap)) {
    int err = errno;
    kill(child, SIGKILL);
    channel::fail("write the gid mappings of " + what, err);
  }
  fd = open((base + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
  int err = errno;
  close(gate[1]);
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (fd < 0) channel::fail("open the user namespace of " + what, err);
  return fd;
}

// open_tree(OPEN_TREE_CLONE) of the source, idmapped with the mount's own mappings. Done in
// stage 1: the filesystem's owner (the host's user namespace) must allow it.
int idmappedTree(const json::Value& m) {
  const json::Value& idmap = m["idmap"];
  std::string dest = m["destination"].str(), source = m["source"].str();
  std::string what = "the idmapped mount on " + dest;
  bool recursive = idmap["recursive"].flag();
  unsigned treeFlags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((m["flags"].u64() & MS_REC) ? AT_RECURSIVE : 0);
  int tree = open_tree(AT_FDCWD, source.c_str(), treeFlags);
  if (tree < 0) channel::fail("open_tree " + source + " for " + what, errno);
  int userns = mappedUserNamespace(idmap["uidMappings"].str(), idmap["gidMappings"].str(), what);
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns);
  if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0) {
    int err = errno;
    std::string option = recursive ? "ridmap" : "idmap";
    if (err == EINVAL)
      channel::fail("mount " + source + " on " + dest + ": option \"" + option +
                        "\" refused by the kernel (does the filesystem support idmapped mounts?)",
                    err);
    channel::fail("mount " + source + " on " + dest + ": option \"" + option + "\"", err);
  }
  close(userns);
  return tree;
}

void prepareIdmappedMounts(const json::Value& mounts) {
  idmappedTrees.assign(mounts.size(), -1);
  for (size_t i = 0; i < mounts.size(); i++)
    if (!mounts.at(i)["idmap"].isNull()) idmappedTrees[i] = idmappedTree(mounts.at(i));
}

bool sendRecord(int sock, SourceRecord record, int fd) { return channel::sendWithFd(sock, &record, sizeof record, fd); }

bool receiveRecord(int sock, SourceRecord& record, int* fd) { return channel::receiveWithFd(sock, &record, sizeof record, fd); }

bool opensSourceByFd(const json::Value& m) { return m["bind"].flag() && m["idmap"].isNull() && !m["source"].str().empty(); }

// The helper: waits for stage 1 to be in its namespaces, joins stage 1's mount namespace and
// opens every bind source there. Never reports through the runtime channel; exits.
[[noreturn]] void runSourceHelper(int sock, const json::Value& mounts) {
  char go;
  ssize_t n;
  while ((n = read(sock, &go, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) _exit(1);
  std::string nsPath = "/proc/" + std::to_string(getppid()) + "/ns/mnt";
  int nsFd = open(nsPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsFd < 0 || setns(nsFd, CLONE_NEWNS) < 0) {
    sendRecord(sock, {-1, errno}, -1);
    _exit(1);
  }
  for (size_t i = 0; i < mounts.size(); i++) {
    if (!opensSourceByFd(mounts.at(i))) continue;
    int fd = open(mounts.at(i)["source"].str().c_str(), O_PATH | O_CLOEXEC);
    if (!sendRecord(sock, {static_cast<int32_t>(i), fd < 0 ? errno : 0}, fd)) _exit(1);
    if (fd >= 0) close(fd);
  }
  sendRecord(sock, {-1, 0}, -1);
  _exit(0);
}

struct SourceHelper {
  pid_t pid = -1;
  int sock = -1;
};

// Forked while stage 1 is still the host's root, only when a user namespace would keep stage 2
// from reaching a source.
SourceHelper startSourceHelper(const json::Value& plan) {
  const json::Value& mounts = plan["mounts"];
  bool userNamespace = false, anySource = false;
  for (size_t i = 0; i < plan["namespaces"].size(); i++) userNamespace |= plan["namespaces"].at(i)["type"].str() == "user";
  for (size_t i = 0; i < mounts.size(); i++) anySource |= opensSourceByFd(mounts.at(i));
  bindSources.assign(mounts.size(), -1);
  if (!userNamespace || !anySource) return {};
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) channel::fail("socketpair for the mount sources", errno);
  pid_t pid = fork();
  if (pid < 0) channel::fail("fork the mount source helper", errno);
  if (pid == 0) {
    close(pair[0]);
    runSourceHelper(pair[1], mounts);
  }
  close(pair[1]);
  return {pid, pair[0]};
}

void collectSources(const SourceHelper& helper) {
  if (helper.pid < 0) return;
  if (write(helper.sock, "g", 1) != 1) channel::fail("start the mount source helper", errno);
  for (;;) {
    SourceRecord record;
    int fd;
    if (!receiveRecord(helper.sock, record, &fd)) channel::fail("read the bind mount sources from their helper", EPROTO);
    if (record.index < 0) {
      if (record.err) channel::fail("join the container's mount namespace to open the bind mount sources", record.err);
      break;
    }
    if (static_cast<size_t>(record.index) < bindSources.size()) bindSources[record.index] = fd;
  }
  close(helper.sock);
  while (waitpid(helper.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// runc's "loopback" network: a new network namespace gets lo up, nothing else.
void bringLoopbackUp() {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) channel::fail("socket for setting up lo", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) channel::fail("read the flags of lo", errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) channel::fail("bring lo up", errno);
  close(sock);
}

// exec: every namespace of the container's init, joined through the pidfd the runtime opened
// and checked (its start time) before it started us. The pid cannot be recycled under a pidfd,
// so a process that died meanwhile makes setns fail instead of joining whoever has its pid now.
void joinThroughPidfd(int pidfd, const json::Value& namespaces) {
  int flags = 0;
  for (size_t i = 0; i < namespaces.size(); i++) {
    const json::Value& n = namespaces.at(i);
    if (!n["path"].str().empty()) channel::fail("exec: namespace " + n["type"].str() + " given by path", 0);
    flags |= cloneFlag(n["type"].str());
  }
  if (cgroups::namespaceMadeByChild()) {
    if (!(flags & CLONE_NEWCGROUP)) channel::fail("exec: the plan leaves a cgroup namespace to join to stage 2, but names none", 0);
    flags &= ~CLONE_NEWCGROUP;
    cgroups::joinNamespaceLaterThrough(pidfd);
  }
  if (flags && setns(pidfd, flags) < 0) {
    if (errno == ESRCH) channel::fail("the container's init exited: not joining its namespaces", 0);
    channel::fail("join the container's namespaces (setns through its pidfd)", errno);
  }
  if (!cgroups::namespaceMadeByChild()) close(pidfd);
  if (flags & CLONE_NEWUSER) becomeNamespaceRoot();
  readSetgroups();
}

}  // namespace

int preopened(const char* path) {
  if (fifoFd >= 0 && fifoPath == path) {
    int fd = fifoFd;
    fifoFd = -1;
    return fd;
  }
  return -1;
}

bool setgroupsDenied() { return setgroupsDeny; }

int idmappedMount(size_t index) { return index < idmappedTrees.size() ? idmappedTrees[index] : -1; }

int bindSource(size_t index) { return index < bindSources.size() ? bindSources[index] : -1; }

void enter(const json::Value& plan, bool fifoExists) {
  const json::Value& process = plan["process"];
  // With the runtime's privileges, inherited by everything below (runc does these from its
  // own process or before its user namespace too).
  const json::Value& affinity = process["execCPUAffinity"];
  if (!affinity.isNull()) setAffinity(affinity["initial"], "initial");
  if (!plan["oomScoreAdj"].isNull() &&
      !procfs::write(procfs::host(), "self/oom_score_adj", std::to_string(plan["oomScoreAdj"].i64()), "/proc/self/oom_score_adj"))
    channel::fail("write /proc/self/oom_score_adj", errno);
  if (!process["ioPriority"].isNull() && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, process["ioPriority"].i64()) < 0)
    channel::fail("set the I/O priority", errno);
  raiseHardLimits(process["rlimits"]);
  fifoPath = fifoExists ? plan["execFifo"].str() : "";
  if (!fifoPath.empty() && (fifoFd = open(fifoPath.c_str(), O_PATH | O_CLOEXEC)) < 0)
    channel::fail("open exec fifo " + fifoPath, errno);
  prepareIdmappedMounts(plan["mounts"]);
  SourceHelper sourceHelper = startSourceHelper(plan);

  const json::Value& namespaces = plan["namespaces"];
  if (!plan["nsPidfd"].isNull()) return joinThroughPidfd(static_cast<int>(plan["nsPidfd"].i64()), namespaces);
  std::vector<Joined> joins;
  int newFlags = 0;
  // Open every path first: joining a mount namespace changes what later paths would mean.
  for (size_t i = 0; i < namespaces.size(); i++) {
    const json::Value& n = namespaces.at(i);
    std::string type = n["type"].str(), path = n["path"].str();
    if (path.empty()) {
      newFlags |= cloneFlag(type);
      continue;
    }
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) channel::fail("open namespace path " + path, errno);
    joins.push_back({type, path, fd});
  }
  // A joined user namespace first: it is what grants the rights over the others.
  for (const Joined& j : joins)
    if (j.type == "user") {
      join(j);
      becomeNamespaceRoot();
    }
  if (newFlags & CLONE_NEWUSER) {
    if (unshare(CLONE_NEWUSER) < 0) channel::fail("unshare user namespace", errno);
    // Only an unprivileged runtime needs this to write gid_map (user_namespaces(7)).
    if (plan["denySetgroups"].flag() && !procfs::write(procfs::host(), "self/setgroups", "deny", "/proc/self/setgroups"))
      channel::fail("write deny to /proc/self/setgroups", errno);
    channel::send(protocol::kUsermap, "\"pid\":" + std::to_string(getpid()));
    channel::expect(protocol::kUsermapDone);
    becomeNamespaceRoot();
    newFlags &= ~CLONE_NEWUSER;
  }
  readSetgroups();
  for (const Joined& j : joins)
    if (j.type != "user") join(j);
  if (cgroups::namespaceMadeByChild()) newFlags &= ~CLONE_NEWCGROUP;
  if (newFlags && unshare(newFlags) < 0) channel::fail("unshare namespaces", errno);
  collectSources(sourceHelper);
  if (newFlags & CLONE_NEWTIME) writeTimeOffsets(plan["timeOffsets"]);
  if ((newFlags & CLONE_NEWNET) && plan["loopbackUp"].flag()) bringLoopbackUp();
}

}  // namespace ns
