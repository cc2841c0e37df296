#include "procfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "channel.h"

namespace procfs {

namespace {

int hostFd = -1;

void requireProcfs(int fd, const std::string& display) {
  struct statfs st;
  if (fstatfs(fd, &st) < 0) channel::fail("statfs " + display, errno);
  if (st.f_type != PROC_SUPER_MAGIC) {
    close(fd);
    channel::fail(display + " is not on procfs (refusing a file the container may have put there)", 0);
  }
}

}  // namespace

void openHost() {
  hostFd = ::open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (hostFd < 0) channel::fail("open the host's /proc", errno);
  requireProcfs(hostFd, "the host's /proc");
}

int host() { return hostFd; }

void closeHost() {
  if (hostFd >= 0) ::close(hostFd);
  hostFd = -1;
}

int open(int dir, const std::string& rel, int flags, const std::string& display) {
  if (dir < 0) channel::fail("open " + display + ": no procfs handle", EBADF);
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  // "self" and "thread-self" are plain symlinks inside procfs: allowed; /proc/self/fd/N is not.
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long fd = syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how);
  if (fd < 0 && errno == ENOSYS) fd = openat(dir, rel.c_str(), flags | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int err = errno;
    if (err == EXDEV || err == ELOOP)
      channel::fail("open " + display + ": it leaves procfs through a mount or a link (refused)", err);
    channel::fail("open " + display, err);
  }
  requireProcfs(static_cast<int>(fd), display);
  return static_cast<int>(fd);
}

int openContainerProc() {
  int fd = ::open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) channel::fail("open the container's /proc (it must be a procfs directory)", errno);
  requireProcfs(fd, "the container's /proc");
  return fd;
}

bool write(int dir, const std::string& rel, const std::string& text, const std::string& display) {
  int fd = open(dir, rel, O_WRONLY, display);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

std::string read(int dir, const std::string& rel, const std::string& display, size_t max) {
  int fd = open(dir, rel, O_RDONLY, display);
  std::string out(max, '\0');
  ssize_t n = ::read(fd, &out[0], max);
  int err = errno;
  ::close(fd);
  if (n < 0) channel::fail("read " + display, err);
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace procfs
