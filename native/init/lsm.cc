#include "lsm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "channel.h"

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
  std::string path = entry["attr"].str();
  a.fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (a.fd < 0) channel::fail("open " + path + entry["context"].str(), errno);
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

void applyAppArmor(const json::Value& plan) {
  writeOne(plan, apparmor, plan["lsm"]["apparmor"]["value"].str(),
           "unable to apply apparmor profile: apparmor failed to apply profile: ");
}

void setKeyLabel(const json::Value& plan, bool reset) {
  writeOne(plan, selinuxKey, reset ? "" : plan["lsm"]["selinuxKey"]["value"].str(), "can't set key label: ");
}

void applySelinux(const json::Value& plan) {
  writeOne(plan, selinuxExec, plan["lsm"]["selinuxExec"]["value"].str(), "can't set process label: ");
}

}  // namespace lsm
