#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "channel.h"
#include "steps.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace ns {

namespace {

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

void writeTimeOffsets(const json::Value& offsets) {
  std::string text;
  for (const char* clock : {"monotonic", "boottime"}) {
    const json::Value& o = offsets[clock];
    if (o.isNull()) continue;
    text += std::string(clock) + " " + std::to_string(o["secs"].i64()) + " " + std::to_string(o["nanosecs"].i64()) + "\n";
  }
  if (text.empty()) return;
  int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    channel::fail("write /proc/self/timens_offsets", errno);
  close(fd);
}

void becomeNamespaceRoot() {
  if (setresgid(0, 0, 0) < 0) channel::fail("setresgid to the user namespace's root", errno);
  if (setresuid(0, 0, 0) < 0) channel::fail("setresuid to the user namespace's root", errno);
}

}  // namespace

void enter(const json::Value& plan) {
  const json::Value& namespaces = plan["namespaces"];
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
    channel::send("usermap", "\"pid\":" + std::to_string(getpid()));
    channel::expect("usermap-done");
    becomeNamespaceRoot();
    newFlags &= ~CLONE_NEWUSER;
  }
  for (const Joined& j : joins)
    if (j.type != "user") join(j);
  if (newFlags && unshare(newFlags) < 0) channel::fail("unshare namespaces", errno);
  if (newFlags & CLONE_NEWTIME) writeTimeOffsets(plan["timeOffsets"]);
}

}  // namespace ns
