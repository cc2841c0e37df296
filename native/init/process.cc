// The container process: the last privileged steps, then the drop to the configured user and
// capabilities, and execve.
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "channel.h"
#include "lsm.h"
#include "procfs.h"
#include "steps.h"

namespace proc {

namespace {

// linux.sysctl, through the container's procfs: beneath its /proc/sys, no symlink, no mount
// crossed, the file itself on procfs (an image cannot turn the write into one on its files).
void writeSysctls(const json::Value& sysctl) {
  if (sysctl.size() == 0) return;
  int proc = procfs::openContainerProc();
  for (size_t i = 0; i < sysctl.size(); i++) {
    std::string rel = "sys/" + sysctl.at(i)["path"].str(), value = sysctl.at(i)["value"].str();
    std::string display = "/proc/" + rel;
    if (!procfs::write(proc, rel, value, display)) channel::fail("write " + value + " to " + display, errno);
  }
  close(proc);
}

// runc's verifyCwd (CVE-2024-21626): after chdir, the kernel must report a path inside our root;
// a directory reached through an fd of the host shows as "(unreachable)/...".
void verifyCwd(const std::string& cwd) {
  char buf[4096];
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0) channel::fail("getcwd after chdir to " + cwd, errno);
  if (buf[0] != '/')
    channel::fail("cwd " + cwd + " is outside the container's root (possible container breakout detected)", 0);
}

void setRlimits(const json::Value& rlimits) {
  for (size_t i = 0; i < rlimits.size(); i++) {
    const json::Value& r = rlimits.at(i);
    struct rlimit limit = {r["soft"].u64(), r["hard"].u64()};
    if (setrlimit(static_cast<__rlimit_resource>(r["resource"].i64()), &limit) < 0)
      channel::fail("setrlimit " + r["type"].str(), errno);
  }
}

void joinSessionKeyring(const std::string& name) {
  constexpr long kJoinSessionKeyring = 1;
  // Kernels without keys, or keyrings refused by the host's policy: runc carries on too.
  if (syscall(SYS_keyctl, kJoinSessionKeyring, name.c_str()) < 0 && errno != ENOSYS && errno != EPERM &&
      errno != EACCES)
    channel::fail("join session keyring " + name, errno);
}

std::string envValue(const json::Value& env, const std::string& key) {
  for (size_t i = 0; i < env.size(); i++) {
    const std::string& entry = env.at(i).text;
    if (entry.compare(0, key.size() + 1, key + "=") == 0) return entry.substr(key.size() + 1);
  }
  return "";
}

bool hasEnv(const json::Value& env, const std::string& key) {
  for (size_t i = 0; i < env.size(); i++)
    if (env.at(i).text.compare(0, key.size() + 1, key + "=") == 0) return true;
  return false;
}

// HOME for a process whose env has none, as runc sets it: the uid's entry in the container's
// /etc/passwd, else "/". Read while the container's root is ours and before any seccomp filter.
std::string defaultHome = "/";

std::string homeOf(uid_t uid) {
  FILE* passwd = fopen("/etc/passwd", "re");
  if (!passwd) return "/";
  char line[1024];
  std::string home = "/";
  while (fgets(line, sizeof line, passwd)) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> fields;
    std::string field;
    for (char* c = line; *c && *c != '\n'; c++) {
      if (*c == ':') {
        fields.push_back(field);
        field.clear();
      } else {
        field += *c;
      }
    }
    fields.push_back(field);
    if (fields.size() >= 6 && fields[2] == std::to_string(uid)) {
      if (!fields[5].empty()) home = fields[5];
      break;
    }
  }
  fclose(passwd);
  return home;
}

bool isExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

struct CapSets {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};

uint64_t capMask(const json::Value& list) {
  uint64_t mask = 0;
  for (size_t i = 0; i < list.size(); i++) mask |= 1ULL << list.at(i).u64();
  return mask;
}

// `last`: the host's cap_last_cap, read by the runtime on the host (never the container's /proc).
void dropBounding(uint64_t keep, int last) {
  if (last < 0 || last > 63) channel::fail("invalid plan: lastCap " + std::to_string(last), 0);
  for (int cap = 0; cap <= last; cap++)
    if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      channel::fail("drop capability " + std::to_string(cap) + " from the bounding set", errno);
}

void setCapSets(const CapSets& sets) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int i = 0; i < 2; i++) {
    data[i].effective = static_cast<uint32_t>(sets.effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(sets.permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(sets.inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) < 0) channel::fail("set capabilities", errno);
}

// A capability missing from the permitted or inheritable set cannot be ambient: runc skips it
// silently (EPERM), as it does on kernels without ambient capabilities (EINVAL).
void raiseAmbient(uint64_t ambient) {
  for (int cap = 0; cap < 64; cap++)
    if ((ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EINVAL &&
        errno != EPERM)
      channel::fail("raise ambient capability " + std::to_string(cap), errno);
}

// runc calls setgroups(2) unless the user namespace has it denied (stage 1 read that on the host).
void setUser(const json::Value& process, bool setgroupsAllowed) {
  const json::Value& user = process["user"];
  setgroupsAllowed = setgroupsAllowed && !ns::setgroupsDenied();
  gid_t gid = static_cast<gid_t>(user["gid"].u64());
  uid_t uid = static_cast<uid_t>(user["uid"].u64());
  if (setgroupsAllowed) {
    std::vector<gid_t> groups;
    const json::Value& extra = user["additionalGids"];
    for (size_t i = 0; i < extra.size(); i++) groups.push_back(static_cast<gid_t>(extra.at(i).u64()));
    if (setgroups(groups.size(), groups.data()) < 0) channel::fail("setgroups", errno);
  }
  if (setresgid(gid, gid, gid) < 0) channel::fail("setresgid " + std::to_string(gid), errno);
  if (setresuid(uid, uid, uid) < 0) channel::fail("setresuid " + std::to_string(uid), errno);
}

// Every fd the runtime gave us (except --preserve-fds) closes at execve; seccomp may forbid
// closing them one by one later. close_range is 5.11+ for CLOEXEC; walk /proc/self/fd otherwise.
void markRuntimeFdsCloseOnExec(int first) {
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) channel::fail("open /proc/self/fd", errno);
  int self = dirfd(dir);
  while (struct dirent* entry = readdir(dir)) {
    int fd = atoi(entry->d_name);
    if (fd >= first && fd != self) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(dir);
}

// Right before execve: close (not only mark) every fd from `first` up. A seccomp filter may
// refuse close_range; finalize marked them close-on-exec, so they still go at execve.
void closeRuntimeFds(int first) { syscall(SYS_close_range, first, ~0U, 0); }

// sched_setattr(2): the plan carries the policy and flags as numbers, times in nanoseconds.
void setScheduler(const json::Value& s) {
  if (s.isNull()) return;
  struct {
    uint32_t size;
    uint32_t policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t utilMin, utilMax;
  } attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.policy = static_cast<uint32_t>(s["policy"].u64());
  attr.flags = s["flags"].u64();
  attr.nice = static_cast<int32_t>(s["nice"].i64());
  attr.priority = static_cast<uint32_t>(s["priority"].u64());
  attr.runtime = s["runtime"].u64();
  attr.deadline = s["deadline"].u64();
  attr.period = s["period"].u64();
  if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0) channel::fail("set the scheduler (sched_setattr)", errno);
}

void setAffinity(const json::Value& cpus) {
  if (cpus.isNull()) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (size_t i = 0; i < cpus.size(); i++)
    if (cpus.at(i).u64() < CPU_SETSIZE) CPU_SET(cpus.at(i).u64(), &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0) channel::fail("set the final CPU affinity", errno);
}

bool kernelConfigured = false;

}  // namespace

void configureKernel(const json::Value& plan) {
  if (kernelConfigured) return;
  kernelConfigured = true;
  if (!plan["hostname"].isNull()) {
    std::string name = plan["hostname"].str();
    if (sethostname(name.data(), name.size()) < 0) channel::fail("sethostname", errno);
  }
  if (!plan["domainname"].isNull()) {
    std::string name = plan["domainname"].str();
    if (setdomainname(name.data(), name.size()) < 0) channel::fail("setdomainname", errno);
  }
  lsm::applyAppArmor(plan);
  writeSysctls(plan["sysctl"]);
}

void configure(const json::Value& plan) {
  // Everything needed from the host's /proc is open by now: let it go before the cwd (and the
  // container's files) come into play.
  lsm::open(plan);
  procfs::closeHost();
  defaultHome = homeOf(static_cast<uid_t>(plan["process"]["user"]["uid"].u64()));
  configureKernel(plan);  // exec: no rootfs::enter to have done it
  // oom_score_adj and the I/O priority were set in stage 1, with the runtime's privileges.
  setRlimits(plan["process"]["rlimits"]);
  if (!plan["sessionKeyring"].isNull()) {
    lsm::setKeyLabel(plan, false);
    joinSessionKeyring(plan["sessionKeyring"].str());
    lsm::setKeyLabel(plan, true);
  }
  std::string cwd = plan["process"]["cwd"].str();
  if (chdir(cwd.c_str()) < 0) channel::fail("chdir to cwd " + cwd, errno);
  verifyCwd(cwd);
  // runc's order: scheduler and SELinux exec label while still privileged and before a
  // seccomp filter that may not allow them, then (finalize) user and capabilities.
  setScheduler(plan["process"]["scheduler"]);
  lsm::applySelinux(plan);
}

std::string lookPath(const json::Value& process) {
  std::string name = process["args"].at(0).str();
  if (name.find('/') != std::string::npos) {
    if (isExecutableFile(name)) return name;
    channel::fail("exec: \"" + name + "\": " + strerror(errno ? errno : EACCES), 0);
  }
  std::string path = envValue(process["env"], "PATH");
  size_t start = 0;
  while (!path.empty() && start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = end > start ? path.substr(start, end - start) : ".";
    std::string candidate = dir + "/" + name;
    if (isExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  channel::fail("exec: \"" + name + "\": executable file not found in $PATH", 0);
}

void finalize(const json::Value& plan) {
  const json::Value& process = plan["process"];
  const json::Value& caps = process["capabilities"];
  umask(process["umask"].isNull() ? 022 : static_cast<mode_t>(process["umask"].u64()));

  dropBounding(capMask(caps["bounding"]), static_cast<int>(plan["lastCap"].i64()));
  // Keep the permitted set across the uid change; the configured sets are applied after it.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) channel::fail("prctl PR_SET_KEEPCAPS", errno);
  setUser(process, plan["setgroups"].flag());
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) channel::fail("prctl PR_SET_KEEPCAPS", errno);
  setCapSets({capMask(caps["effective"]), capMask(caps["permitted"]), capMask(caps["inheritable"])});
  raiseAmbient(capMask(caps["ambient"]));
  if (process["noNewPrivileges"].flag() && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    channel::fail("prctl PR_SET_NO_NEW_PRIVS", errno);
  markRuntimeFdsCloseOnExec(3 + static_cast<int>(plan["preserveFds"].u64()));
  // runc sets the personality last, right before it execs.
  if (!plan["personality"].isNull() && personality(static_cast<unsigned long>(plan["personality"].u64())) < 0)
    channel::fail("set the personality", errno);
  const json::Value& affinity = process["execCPUAffinity"];
  if (!affinity.isNull()) setAffinity(affinity["final"]);
}

void execute(const json::Value& plan, const std::string& executable) {
  const json::Value& process = plan["process"];
  std::vector<std::string> args = process["args"].strings(), env = process["env"].strings();
  if (!hasEnv(process["env"], "HOME")) env.push_back("HOME=" + defaultHome);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(&e[0]);
  envp.push_back(nullptr);
  closeRuntimeFds(3 + static_cast<int>(plan["preserveFds"].u64()));
  execve(executable.c_str(), argv.data(), envp.data());
  channel::fail("exec " + executable, errno);
}

}  // namespace proc
