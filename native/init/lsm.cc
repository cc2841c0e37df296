#include "lsm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "channel.h"
#include "procfs.h"

namespace lsm {

namespace {

// plan.lsm.<key> is {attr: path, value: what to write, context: text for error messages}.
struct Attr {
  const char* key;
  int fd;
};

Attr apparmor{"apparmor", -1}, selinuxExec{"selinuxExec", -1}, selinuxKey{"selinuxKey", -1};

void openOne(const json::Value& plan, Attr& a) {
  const json::Value& entry = plan["lsm"][a.key];
  if (entry.isNull() || a.fd >= 0) return;
  // Through the host's /proc, opened before any namespace was joined: for exec, the container's
  // /proc is not ours to trust (runc CVE-2019-16884).
  std::string path = entry["attr"].str();
  const std::string prefix = "/proc/";
  if (path.compare(0, prefix.size(), prefix) != 0) channel::fail("invalid plan: lsm attr " + path + " is not under /proc", 0);
  a.fd = procfs::open(procfs::host(), path.substr(prefix.size()), O_WRONLY, path + entry["context"].str());
}

// Writes `value` to the attr, opening it now if lsm::open did not (exec: no rootfs step).
void writeOne(const json::Value& plan, Attr& a, const std::string& value, const std::string& step) {
  const json::Value& entry = plan["lsm"][a.key];
  if (entry.isNull()) return;
  openOne(plan, a);
  if (write(a.fd, value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    channel::fail(step + "write " + entry["attr"].str() + entry["context"].str(), errno);
}

}  // namespace

void open(const json::Value& plan) {
  openOne(plan, apparmor);
  openOne(plan, selinuxExec);
  openOne(plan, selinuxKey);
}

// The value to write for `a`, "" when the plan has nothing for it (writeOne then does nothing).
static std::string valueOf(const json::Value& entry) { return entry.isNull() ? "" : entry["value"].str(); }

void applyAppArmor(const json::Value& plan) {
  writeOne(plan, apparmor, valueOf(plan["lsm"]["apparmor"]),
           "unable to apply apparmor profile: apparmor failed to apply profile: ");
}

void setKeyLabel(const json::Value& plan, bool reset) {
  writeOne(plan, selinuxKey, reset ? "" : valueOf(plan["lsm"]["selinuxKey"]), "can't set key label: ");
}

void applySelinux(const json::Value& plan) {
  writeOne(plan, selinuxExec, valueOf(plan["lsm"]["selinuxExec"]), "can't set process label: ");
}

}  // namespace lsm
