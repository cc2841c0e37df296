// The setup steps of the container init, in the order main.cc runs them.
#pragma once
#include <string>

#include "json.h"

namespace ns {
// Stage 1: joins the namespaces given by path, creates the new ones (asking the runtime to write
// the user namespace maps) and writes time namespace offsets. Children see all of them.
void enter(const json::Value& plan);
}  // namespace ns

namespace rootfs {
// Stage 2, before the createRuntime hooks: propagation, every mount, devices and /dev links.
void prepare(const json::Value& plan);
// Stage 2, after the hooks: pivot_root (or move+chroot), masked and read-only paths, ro root.
void enter(const json::Value& plan);
// Opens `path` (host view) as O_PATH so it can be reopened through /proc/self/fd after pivot.
int openPath(const char* path);
}  // namespace rootfs

namespace proc {
// Everything that must happen while still privileged: hostname, sysctl, rlimits, keyring, cwd.
void configure(const json::Value& plan);
// Resolves process.args[0] through the container's PATH; fails the init if it is missing.
std::string lookPath(const json::Value& process);
// Drops to the configured user and capabilities and marks runtime fds close-on-exec.
void finalize(const json::Value& plan);
// execve of the container's process. Does not return.
[[noreturn]] void execute(const json::Value& plan, const std::string& executable);
}  // namespace proc
