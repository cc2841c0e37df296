// Mount setup inside the container's mount namespace. Every destination is resolved inside the
// rootfs without following symlinks out of it (openat2 RESOLVE_IN_ROOT, or a userland walk that
// does the same where the kernel lacks openat2), and mounted through /proc/self/fd/N.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dirent.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "channel.h"
#include "lsm.h"
#include "steps.h"

namespace rootfs {

namespace {

std::string rootPath;
int rootFd = -1;

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    start = end + 1;
  }
  return parts;
}

// Userland equivalent of RESOLVE_IN_ROOT: walks `rel` under rootPath, resolving symlinks as if
// rootPath were "/", and returns the host path it lands on (the tail may not exist yet).
std::string resolveInRootFallback(const std::string& rel) {
  std::vector<std::string> pending = splitPath(rel);
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = pending.front();
    pending.erase(pending.begin());
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    std::string current;
    for (const auto& r : resolved) current += "/" + r;
    std::string candidate = rootPath + current + "/" + part;
    struct stat st;
    if (lstat(candidate.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > 255) return rootPath + current + "/" + part;  // the open then fails with ELOOP
      char target[4096];
      ssize_t n = readlink(candidate.c_str(), target, sizeof target - 1);
      if (n < 0) return candidate;
      target[n] = '\0';
      std::vector<std::string> linkParts = splitPath(target);
      if (target[0] == '/') resolved.clear();
      pending.insert(pending.begin(), linkParts.begin(), linkParts.end());
      continue;
    }
    resolved.push_back(part);
  }
  std::string out = rootPath;
  for (const auto& r : resolved) out += "/" + r;
  return out;
}

int openInRoot(const std::string& rel, int flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string relative = rel.empty() || rel == "/" ? "." : rel.substr(rel[0] == '/' ? 1 : 0);
  long fd = syscall(SYS_openat2, rootFd, relative.c_str(), &how, sizeof how);
  if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
  return open(resolveInRootFallback(rel).c_str(), flags | O_CLOEXEC | O_NOFOLLOW);
}

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string parentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

std::string baseOf(const std::string& path) {
  std::vector<std::string> parts = splitPath(path);
  return parts.empty() ? "" : parts.back();
}

// mkdir -p of `rel` inside the rootfs; returns an O_PATH fd of the directory.
int makeDirectories(const std::string& rel) {
  std::string prefix;
  for (const std::string& part : splitPath(rel)) {
    std::string next = prefix + "/" + part;
    int fd = openInRoot(next, O_PATH | O_DIRECTORY);
    if (fd >= 0) {
      close(fd);
    } else if (errno == ENOENT) {
      int parent = openInRoot(prefix, O_PATH | O_DIRECTORY);
      if (parent < 0) channel::fail("open " + (prefix.empty() ? "/" : prefix) + " in the rootfs", errno);
      if (mkdirat(parent, part.c_str(), 0755) < 0) {
        if (errno != EEXIST) channel::fail("mkdir " + next + " in the rootfs", errno);
        // A dangling symlink: create what it points to, resolved inside the rootfs.
        int target = makeDirectories(resolveInRootFallback(next).substr(rootPath.size()));
        close(target);
      }
      close(parent);
    } else {
      channel::fail("open " + next + " in the rootfs", errno);
    }
    prefix = next;
  }
  int fd = openInRoot(rel, O_PATH | O_DIRECTORY);
  if (fd < 0) channel::fail("open " + rel + " in the rootfs", errno);
  return fd;
}

// Creates an empty file at `rel` (as a bind target) unless something is there; returns O_PATH fd.
int makeFile(const std::string& rel) {
  int fd = openInRoot(rel, O_PATH);
  if (fd >= 0) return fd;
  int parent = makeDirectories(parentOf(rel));
  int created = openat(parent, baseOf(rel).c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0755);
  if (created < 0 && errno != EEXIST) channel::fail("create " + rel + " in the rootfs", errno);
  if (created >= 0) close(created);
  close(parent);
  fd = openInRoot(rel, O_PATH);
  if (fd < 0) channel::fail("open " + rel + " in the rootfs", errno);
  return fd;
}

// Flags a remount must keep or the kernel refuses it (locked in a user namespace): runc retries
// with them after EPERM, so the exact flags win wherever the kernel allows them.
unsigned long lockedFlags(int fd, unsigned long requested) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) < 0) return 0;
  unsigned long flags = 0;
  if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  const unsigned long atime = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
  if (!(requested & atime)) {
    if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  }
  return flags;
}

// One mount description for error messages: `mount tmpfs on /x`.
std::string describe(const json::Value& m) {
  std::string type = m["type"].str(), source = m["source"].str();
  std::string what = m["bind"].flag() ? "bind mount " + source : "mount " + (type.empty() ? source : type);
  return what + " on " + m["destination"].str();
}

// Splits mount data at commas outside double quotes (context="a:b:c1,c2").
std::vector<std::string> splitData(const std::string& data) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  for (char c : data) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

// The kernel said EINVAL to a filesystem mount: find the option it refuses by mounting with one
// data option at a time (each probe is unmounted again), so the error can name it.
[[noreturn]] void failInvalidMount(const json::Value& m, const std::string& target, unsigned long flags) {
  std::string type = m["type"].str(), source = m["source"].str();
  for (const std::string& option : splitData(m["data"].str())) {
    if (mount(source.c_str(), target.c_str(), type.c_str(), flags & ~MS_REMOUNT, option.c_str()) == 0) {
      umount2(target.c_str(), MNT_DETACH);
    } else if (errno == EINVAL) {
      channel::fail(describe(m) + ": option \"" + option + "\" refused by the kernel", EINVAL);
    }
  }
  channel::fail(describe(m) + " with options \"" + m["options"].str() + "\"", EINVAL);
}

void mountAt(const std::string& what, const std::string& dest, const char* source, const char* type,
             unsigned long flags, const char* data, int targetFd) {
  if (mount(source, fdPath(targetFd).c_str(), type, flags, data) < 0) channel::fail(what + " on " + dest, errno);
}

// Applies changes to the mount now at `dest`: the fd used to mount it points below it. With
// `keepLocked`, a refusal (EPERM) is retried with the flags the kernel locks.
void changeMountAt(const std::string& what, const std::string& dest, unsigned long flags, bool keepLocked) {
  int fd = openInRoot(dest, O_PATH);
  if (fd < 0) channel::fail("open " + dest + " in the rootfs", errno);
  std::string path = fdPath(fd);
  if (mount(nullptr, path.c_str(), nullptr, flags, nullptr) < 0) {
    int err = errno;
    if (!keepLocked || err != EPERM ||
        mount(nullptr, path.c_str(), nullptr, flags | lockedFlags(fd, flags), nullptr) < 0)
      channel::fail(what, err);
  }
  close(fd);
}

// mount_setattr(AT_RECURSIVE) for the r* options (rro, rnosuid, ...): the whole tree at dest.
void setRecursiveAttributes(const json::Value& m) {
  const json::Value& rec = m["recursive"];
  if (rec.isNull()) return;
  std::string dest = m["destination"].str();
  int fd = openInRoot(dest, O_PATH);
  if (fd < 0) channel::fail("open " + dest + " in the rootfs", errno);
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = rec["set"].u64();
  attr.attr_clr = rec["clear"].u64();
  if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
    int err = errno;
    std::string options = rec["options"].str();
    if (err == EINVAL || err == ENOSYS)
      channel::fail(describe(m) + ": option \"" + options + "\" refused by the kernel", err);
    channel::fail(describe(m) + ": apply \"" + options + "\"", err);
  }
  close(fd);
}

// ---------------------------------------------------------------- tmpcopyup

void copyTree(int from, int to, const std::string& where);

void copyEntry(int from, int to, const char* name, const struct stat& st, const std::string& where) {
  std::string path = where + "/" + name;
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(to, name, 0700) < 0) channel::fail("tmpcopyup: mkdir " + path, errno);
    int sub = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int subTo = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0 || subTo < 0) channel::fail("tmpcopyup: open " + path, errno);
    copyTree(sub, subTo, path);
    if (fchown(subTo, st.st_uid, st.st_gid) < 0 || fchmod(subTo, st.st_mode & 07777) < 0)
      channel::fail("tmpcopyup: set the owner and mode of " + path, errno);
    close(sub);
    close(subTo);
  } else if (S_ISREG(st.st_mode)) {
    int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (in < 0 || out < 0) channel::fail("tmpcopyup: open " + path, errno);
    char buf[65536];
    for (;;) {
      ssize_t n = read(in, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) channel::fail("tmpcopyup: read " + path, errno);
      if (n == 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(out, buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) channel::fail("tmpcopyup: write " + path, errno);
        off += w;
      }
    }
    // chown first: it clears set-id bits the mode then restores.
    if (fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, st.st_mode & 07777) < 0)
      channel::fail("tmpcopyup: set the owner and mode of " + path, errno);
    close(in);
    close(out);
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlinkat(from, name, target, sizeof target - 1);
    if (n < 0) channel::fail("tmpcopyup: readlink " + path, errno);
    target[n] = '\0';
    if (symlinkat(target, to, name) < 0) channel::fail("tmpcopyup: symlink " + path, errno);
    if (fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
      channel::fail("tmpcopyup: set the owner of " + path, errno);
  } else {
    if (mknodat(to, name, st.st_mode, st.st_rdev) < 0) channel::fail("tmpcopyup: mknod " + path, errno);
    if (fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
      channel::fail("tmpcopyup: set the owner of " + path, errno);
  }
}

void copyTree(int from, int to, const std::string& where) {
  int listFd = dup(from);
  DIR* dir = listFd < 0 ? nullptr : fdopendir(listFd);
  if (!dir) channel::fail("tmpcopyup: list " + where, errno);
  while (struct dirent* entry = readdir(dir)) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(from, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) channel::fail("tmpcopyup: stat " + where, errno);
    copyEntry(from, to, entry->d_name, st, where);
  }
  closedir(dir);
}

// ---------------------------------------------------------------- one mount

// A filesystem mount (not bind). A tmpfs over an existing directory takes that directory's mode,
// as runc does, and with tmpcopyup its contents, read through an fd taken before it was covered.
void mountFilesystem(const json::Value& m) {
  std::string dest = m["destination"].str(), source = m["source"].str(), type = m["type"].str();
  std::string data = m["data"].str();
  unsigned long flags = m["flags"].u64();
  bool tmpfs = type == "tmpfs";
  int underlying = tmpfs ? openInRoot(dest, O_RDONLY | O_DIRECTORY) : -1;
  struct stat before;
  if (underlying >= 0 && fstat(underlying, &before) < 0) channel::fail("stat " + dest + " in the rootfs", errno);
  int target = makeDirectories(dest);
  std::string path = fdPath(target);
  if (mount(source.c_str(), path.c_str(), type.c_str(), flags, data.empty() ? nullptr : data.c_str()) < 0) {
    int err = errno;
    std::string fallback = m["bindFallback"].str();
    struct stat st;
    if ((err == EPERM || err == EBUSY) && !fallback.empty() && stat(fallback.c_str(), &st) == 0) {
      // sysfs needs a network namespace the user namespace owns, mqueue an IPC namespace, cgroup2
      // a cgroup namespace: bind
      // the host's instead, with the mount's flags (runc ≥ 1.2 and crun do the same).
      if (mount(fallback.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
        channel::fail(describe(m) + " (bind " + fallback + " after " + strerror(err) + ")", errno);
      close(target);
      unsigned long extra = flags & ~(MS_BIND | MS_REC | MS_SILENT);
      if (extra) changeMountAt("remount " + dest + " (bound from " + fallback + ")", dest, MS_BIND | MS_REMOUNT | extra, true);
      return;
    }
    if (err == EINVAL) failInvalidMount(m, path, flags);
    channel::fail(describe(m), err);
  }
  close(target);
  if (underlying < 0) return;
  int mounted = openInRoot(dest, O_RDONLY | O_DIRECTORY);
  if (mounted < 0) channel::fail("open " + dest + " in the rootfs", errno);
  if (m["copyUp"].flag()) copyTree(underlying, mounted, dest);
  if (fchmod(mounted, before.st_mode & 07777) < 0) channel::fail("chmod " + dest, errno);
  close(mounted);
  close(underlying);
}

void bindMount(const json::Value& m, size_t index) {
  std::string dest = m["destination"].str(), source = m["source"].str();
  unsigned long flags = m["flags"].u64();
  int tree = ns::idmappedMount(index);
  struct stat st;
  if ((tree >= 0 ? fstat(tree, &st) : stat(source.c_str(), &st)) < 0)
    channel::fail("mount source " + source + " for " + dest, errno);
  int target = S_ISDIR(st.st_mode) ? makeDirectories(dest) : makeFile(dest);
  if (tree >= 0) {
    if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      channel::fail("attach the idmapped mount of " + source + " on " + dest, errno);
    close(tree);
  } else {
    mountAt("bind mount " + source, dest, source.c_str(), nullptr, MS_BIND | (flags & MS_REC), nullptr, target);
  }
  close(target);
  unsigned long extra = flags & ~(MS_BIND | MS_REC);
  if (!extra) return;
  int fd = openInRoot(dest, O_PATH);
  if (fd < 0) channel::fail("open " + dest + " in the rootfs", errno);
  std::string path = fdPath(fd);
  unsigned long remount = MS_BIND | MS_REMOUNT | extra;
  if (mount(nullptr, path.c_str(), nullptr, remount, nullptr) < 0) {
    int err = errno;
    if (err == EPERM && mount(nullptr, path.c_str(), nullptr, remount | lockedFlags(fd, remount), nullptr) == 0) {
      // kept the flags the kernel locks
    } else if (err == EINVAL) {
      channel::fail(describe(m) + ": options \"" + m["options"].str() + "\" refused by the kernel on remount", err);
    } else {
      channel::fail("remount " + dest + " with options \"" + m["options"].str() + "\"", err);
    }
  }
  close(fd);
}

void mountOne(const json::Value& m, size_t index) {
  std::string dest = m["destination"].str();
  if (m["bind"].flag())
    bindMount(m, index);
  else
    mountFilesystem(m);
  setRecursiveAttributes(m);
  const json::Value& propagation = m["propagation"];
  for (size_t i = 0; i < propagation.size(); i++)
    changeMountAt("set propagation of " + dest, dest, propagation.at(i).u64(), false);
}

void makeDevice(const json::Value& d, bool bindFromHost) {
  std::string path = d["path"].str();
  if (bindFromHost) {
    int target = makeFile(path);
    mountAt("bind device " + path, path, path.c_str(), nullptr, MS_BIND, nullptr, target);
    close(target);
    return;
  }
  std::string type = d["type"].str();
  mode_t kind = type == "b" ? S_IFBLK : type == "p" ? S_IFIFO : S_IFCHR;
  mode_t mode = static_cast<mode_t>(d["fileMode"].u64(0666)) & 07777;
  dev_t dev = makedev(static_cast<unsigned>(d["major"].u64()), static_cast<unsigned>(d["minor"].u64()));
  int parent = makeDirectories(parentOf(path));
  std::string base = baseOf(path);
  if (unlinkat(parent, base.c_str(), 0) < 0 && errno != ENOENT) channel::fail("remove " + path + " before mknod", errno);
  if (mknodat(parent, base.c_str(), kind | mode, dev) < 0) channel::fail("mknod " + path, errno);
  if (fchownat(parent, base.c_str(), static_cast<uid_t>(d["uid"].u64()), static_cast<gid_t>(d["gid"].u64()),
               AT_SYMLINK_NOFOLLOW) < 0)
    channel::fail("chown " + path, errno);
  close(parent);
}

void makeSymlink(const json::Value& link) {
  std::string target = link["target"].str(), path = link["path"].str();
  int parent = makeDirectories(parentOf(path));
  std::string base = baseOf(path);
  if (link["replace"].flag()) unlinkat(parent, base.c_str(), 0);
  if (symlinkat(target.c_str(), parent, base.c_str()) < 0 && errno != EEXIST) channel::fail("symlink " + path, errno);
  close(parent);
}

// The mount holding the rootfs must not be shared, or pivot_root refuses and the rootfs bind
// would propagate back to the host.
void makeParentMountPrivate() {
  FILE* f = fopen("/proc/self/mountinfo", "re");
  if (!f) channel::fail("open /proc/self/mountinfo", errno);
  char line[4096];
  std::string best;
  bool bestShared = false;
  while (fgets(line, sizeof line, f)) {
    char mountPoint[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mountPoint) != 1) continue;
    std::string mp = mountPoint;
    bool covers = mp == "/" || rootPath == mp || rootPath.compare(0, mp.size() + 1, mp + "/") == 0;
    if (covers && mp.size() >= best.size()) {
      best = mp;
      std::string rest = line;
      bestShared = rest.find(" shared:") != std::string::npos && rest.find(" shared:") < rest.find(" - ");
    }
  }
  fclose(f);
  if (bestShared && mount(nullptr, best.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
    channel::fail("make " + best + " private", errno);
}

void pivotRoot() {
  int oldRoot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldRoot < 0) channel::fail("open /", errno);
  if (fchdir(rootFd) < 0) channel::fail("chdir to the rootfs", errno);
  if (syscall(SYS_pivot_root, ".", ".") < 0) channel::fail("pivot_root", errno);
  // The old root is now stacked on "/": detach it, without letting the unmount propagate.
  if (fchdir(oldRoot) < 0) channel::fail("chdir to the old root", errno);
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) channel::fail("make the old root a slave", errno);
  if (umount2(".", MNT_DETACH) < 0) channel::fail("unmount the old root", errno);
  if (chdir("/") < 0) channel::fail("chdir /", errno);
  close(oldRoot);
}

void moveRoot() {
  if (fchdir(rootFd) < 0) channel::fail("chdir to the rootfs", errno);
  if (mount(rootPath.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0) channel::fail("move the rootfs to /", errno);
  if (chroot(".") < 0) channel::fail("chroot", errno);
  if (chdir("/") < 0) channel::fail("chdir /", errno);
}

void maskPath(const std::string& path, const std::string& data) {
  struct stat st;
  if (stat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return;
    channel::fail("stat masked path " + path, errno);
  }
  int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, data.empty() ? nullptr : data.c_str())
                               : mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr);
  if (rc < 0) channel::fail("mask " + path, errno);
}

void makeReadonly(const std::string& path) {
  if (mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    if (errno == ENOENT) return;
    channel::fail("bind read-only path " + path, errno);
  }
  struct statvfs sv;
  unsigned long locked = 0;
  if (statvfs(path.c_str(), &sv) == 0)
    locked = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
             (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
  if (mount(nullptr, path.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | locked, nullptr) < 0)
    channel::fail("remount read-only path " + path, errno);
}

// runc creates a missing cwd, even when the root is about to become read-only.
void makeCwd(const std::string& cwd) {
  std::string prefix;
  size_t start = 1;
  while (start <= cwd.size()) {
    size_t end = cwd.find('/', start);
    if (end == std::string::npos) end = cwd.size();
    prefix = cwd.substr(0, end);
    if (end > start && mkdir(prefix.c_str(), 0755) < 0 && errno != EEXIST) channel::fail("create cwd " + cwd, errno);
    start = end + 1;
  }
}

// A user namespace locks the root mount's other flags: keep them if the plain remount is refused.
void makeRootReadonly() {
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
  if (mount(nullptr, "/", nullptr, flags, nullptr) == 0) return;
  int err = errno;
  int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (err != EPERM || fd < 0 || mount(nullptr, "/", nullptr, flags | lockedFlags(fd, 0), nullptr) < 0)
    channel::fail("remount / read-only", err);
  close(fd);
}

}  // namespace

int openPath(const char* path) {
  int fd = ns::preopened(path);
  return fd >= 0 ? fd : open(path, O_PATH | O_CLOEXEC);
}

void prepare(const json::Value& plan) {
  lsm::open(plan);
  rootPath = plan["rootfs"].str();
  unsigned long propagation = plan["rootPropagation"].u64(MS_SLAVE | MS_REC);
  if (mount(nullptr, "/", nullptr, propagation, nullptr) < 0) channel::fail("set propagation of /", errno);
  makeParentMountPrivate();
  if (mount(rootPath.c_str(), rootPath.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    channel::fail("bind mount the rootfs " + rootPath, errno);
  rootFd = open(rootPath.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootFd < 0) channel::fail("open the rootfs " + rootPath, errno);

  umask(0);
  const json::Value& mounts = plan["mounts"];
  for (size_t i = 0; i < mounts.size(); i++) mountOne(mounts.at(i), i);
  const json::Value& devices = plan["devices"];
  bool bindDevices = plan["bindDevices"].flag();
  for (size_t i = 0; i < devices.size(); i++) makeDevice(devices.at(i), bindDevices);
  const json::Value& links = plan["symlinks"];
  for (size_t i = 0; i < links.size(); i++) makeSymlink(links.at(i));
}

void enter(const json::Value& plan) {
  if (plan["noPivot"].flag())
    moveRoot();
  else
    pivotRoot();
  close(rootFd);
  const json::Value& afterPivot = plan["propagationAfterPivot"];
  if (!afterPivot.isNull() && mount(nullptr, "/", nullptr, afterPivot.u64(), nullptr) < 0)
    channel::fail("set rootfs propagation", errno);
  makeCwd(plan["process"]["cwd"].str("/"));
  if (plan["readonlyRoot"].flag()) makeRootReadonly();
  // runc's order from here: hostname, AppArmor, sysctl (through /proc/sys while it is still
  // writable), then the read-only and masked paths.
  proc::configureKernel(plan);
  const json::Value& readonly = plan["readonlyPaths"];
  for (size_t i = 0; i < readonly.size(); i++) makeReadonly(readonly.at(i).str());
  const json::Value& masked = plan["maskedPaths"];
  std::string maskData = plan["maskedPathData"].str();
  for (size_t i = 0; i < masked.size(); i++) maskPath(masked.at(i).str(), maskData);
}

}  // namespace rootfs
