// Every file the init reads or writes under /proc, opened so that the container cannot shape
// what it lands on: beneath a procfs directory fd, never through a symlink that leaves it or a
// magic link, never across a mount, and checked with fstatfs to be on procfs
// (runc CVE-2019-16884 / CVE-2019-19921 class).
#pragma once
#include <string>

namespace procfs {

// Opens the host's /proc. main() calls it first, before any namespace is joined or created;
// a process in a new PID namespace still resolves "self" in it to its own (host) pid.
void openHost();
// The host /proc fd; -1 once closed.
int host();
// Stage 2 closes it as soon as it has opened what it needs from the host (before chdir).
void closeHost();

// Opens `rel` (such as "self/attr/exec") beneath the procfs directory `dir`. `display` names
// the file in errors. Fails the init with one line saying why.
int open(int dir, const std::string& rel, int flags, const std::string& display);
// The container's /proc (after pivot_root), checked to be a procfs directory, not a symlink.
int openContainerProc();

// Writes all of `text` to `rel` beneath `dir`; returns false with errno set on a write error
// (opening problems fail the init).
bool write(int dir, const std::string& rel, const std::string& text, const std::string& display);
// Reads up to `max` bytes of `rel` beneath `dir`.
std::string read(int dir, const std::string& rel, const std::string& display, size_t max = 4096);

}  // namespace procfs
