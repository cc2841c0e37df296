// LSM labels for the container process: the AppArmor exec profile and the SELinux exec and key
// labels. The runtime decides what to write where (src/plan/lsm.ts); this only writes it.
#pragma once
#include "json.h"

namespace lsm {
// Opens the attr files the plan names, while the host's /proc is still the one in view (a
// container image cannot then put a fake /proc under the write, runc CVE-2019-16884).
void open(const json::Value& plan);
// "exec <profile>" to the AppArmor exec attr; fails the init as runc does when it is refused.
void applyAppArmor(const json::Value& plan);
// The SELinux label for keys created from now on (reset: back to the default).
void setKeyLabel(const json::Value& plan, bool reset);
// The SELinux label the next execve switches to.
void applySelinux(const json::Value& plan);
}  // namespace lsm
