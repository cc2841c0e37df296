// runts-init: the container's first process. The runtime execs it (from a sealed memfd copy)
// with the channel fd number as argv[1] and sends it the plan; it never runs JavaScript.
//
// Stage 1 joins and creates namespaces, then forks stage 2 as a sibling (CLONE_PARENT) so it is
// the runtime's child and, in a new PID namespace, pid 1. Stage 1 reports stage 2's pid and
// exits. Stage 2 sets up the rootfs and process, says "created", waits on the exec fifo for
// `start`, then execs the container's process.
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "channel.h"
#include "protocol.h"
#include "procfs.h"
#include "seccomp.h"
#include "steps.h"

namespace {

// Before main, before anything reads the plan: a non-dumpable process cannot be ptrace'd nor
// have its /proc/<pid>/{mem,fd,environ,...} opened by the container's processes (runc's
// nsexec does the same first). It stays so until execve of the container's process.
__attribute__((constructor(101))) void becomeNonDumpable() {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) _exit(1);
}

// glibc's posix_spawn (the runtime's startInitSpawn) hands its internal signals (32, 33) to the
// child as SIG_IGN, and an ignored signal survives execve into the container's process: every
// ignored signal goes back to its default, through the raw syscall (glibc refuses 32 and 33).
void resetIgnoredSignals() {
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  };
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction current{};
    if (syscall(SYS_rt_sigaction, sig, nullptr, &current, sizeof(uint64_t)) < 0 || current.handler != SIG_IGN) continue;
    KernelSigaction reset{};
    reset.handler = SIG_DFL;
    syscall(SYS_rt_sigaction, sig, &reset, nullptr, sizeof(uint64_t));
  }
}

// Blocks until `start` opens the fifo for reading, then lets it know we are going ahead. The
// O_PATH fd is reopened through the container's own procfs, checked to be one; without a mount
// namespace the rootfs has none, and `hostProc` is the host's /proc opened before the chroot.
void waitForStart(int fifoPathFd, int hostProc) {
  int proc = hostProc >= 0 ? hostProc : procfs::openContainerProc();
  int self = procfs::open(proc, "thread-self", O_PATH | O_DIRECTORY, "/proc/thread-self");
  close(proc);
  std::string link = "fd/" + std::to_string(fifoPathFd);
  int fd = openat(self, link.c_str(), O_WRONLY | O_CLOEXEC);
  close(self);
  if (fd < 0) channel::fail("open exec fifo", errno);
  if (write(fd, "0", 1) != 1) channel::fail("write exec fifo", errno);
  close(fd);
  close(fifoPathFd);
}

void runStage2(const json::Value& plan, int releasePipe) {
  char byte;
  while (read(releasePipe, &byte, 1) < 0 && errno == EINTR) {
  }
  close(releasePipe);
  cgroups::enterChildNamespace();
  if (setsid() < 0) channel::fail("setsid", errno);

  int fifoPathFd = -1;
  std::string fifo = plan["execFifo"].str();
  if (!fifo.empty() && (fifoPathFd = rootfs::openPath(fifo.c_str())) < 0) channel::fail("open exec fifo " + fifo, errno);

  // exec joins a container that is set up already: no rootfs, no create-time hooks.
  std::string state;
  // Chrooted without a mount namespace, the rootfs has no /proc of its own to reopen the fifo.
  int procDir = -1;
  if (!plan["mountNamespace"].flag() && (procDir = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    channel::fail("open /proc", errno);
  if (!plan["exec"].flag()) {
    rootfs::prepare(plan);
    // Also the barrier before joinAfterSetup: runts answers only once it has written the
    // cgroup's resources, devices among them (a deny-all first), so stop here even without hooks.
    channel::send(protocol::kHook, "\"name\":\"createRuntime\"");
    state = channel::expect(protocol::kContinue)["state"].str();
    // runc runs them from the rootfs directory (still the host's path, before the pivot).
    std::string rootfsDir = plan["rootfs"].str();
    if (chdir(rootfsDir.c_str()) < 0) channel::fail("chdir to the rootfs " + rootfsDir, errno);
    hooks::run("createContainer", plan["hooks"]["createContainer"], state, plan["process"]["env"]);
    rootfs::enter(plan);
  }
  cgroups::joinAfterSetup();
  proc::configure(plan);
  if (plan["process"]["terminal"].flag()) terminal::setup(plan);
  std::string executable = proc::lookPath(plan["process"]);
  // Seccomp where runc 1.1 puts it: without no_new_privs loading needs CAP_SYS_ADMIN, so before
  // the drop; with it, after (as close to execve as the channel allows).
  const bool noNewPrivileges = plan["process"]["noNewPrivileges"].flag();
  if (!noNewPrivileges) seccomp::passListener(seccomp::load(plan));
  proc::finalize(plan);
  if (noNewPrivileges) seccomp::passListener(seccomp::load(plan));

  channel::send(protocol::kCreated);
  // A detached exec with a terminal: the caller (containerd's shim) takes the pty master only
  // once the runtime has returned; a process that ran and exited before that lost its output.
  if (plan["startAfterRuntimeExits"].flag()) channel::closeWhenRuntimeLetsGo();
  else channel::close();
  if (fifoPathFd >= 0) waitForStart(fifoPathFd, procDir);
  hooks::run("startContainer", plan["hooks"]["startContainer"], state, plan["process"]["env"]);
  proc::execute(plan, executable);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    static const char usage[] = "runts-init is started by runts, not by hand\n";
    write(STDERR_FILENO, usage, sizeof usage - 1);
    return 1;
  }
  // `runts features` asks which libseccomp this binary was linked with.
  if (std::string(argv[1]) == "--libseccomp-version") {
    std::string version = seccomp::linkedVersion() + "\n";
    return write(STDOUT_FILENO, version.data(), version.size()) == static_cast<ssize_t>(version.size()) ? 0 : 1;
  }
  resetIgnoredSignals();
  channel::attach(atoi(argv[1]));
  json::onInvalid([](const std::string& reason) { channel::fail(reason, 0); });
  procfs::openHost();
  json::Value plan;
  std::string error;
  if (!channel::receive(plan, error)) channel::fail("read plan: " + error, 0);

  // Ahead: the namespaces are made while the runtime still makes the state dir, the exec fifo
  // and the cgroup directories; the files are opened once it says they exist (the runtime's
  // policy, namespacesAhead in src/plan/plan.ts, keeps their paths the host's by then).
  const bool ahead = plan["namespacesAhead"].flag();
  const json::Value& join = plan["cgroupJoin"];
  if (ahead && !join.isNull() && join["cgroupNamespaceByChild"].flag()) channel::fail("a cgroup namespace made by stage 2 cannot be planned ahead", 0);
  if (!ahead) cgroups::open(plan, AT_FDCWD);
  int hostRoot = ahead ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  if (ahead && hostRoot < 0) channel::fail("open /", errno);
  ns::enter(plan, !ahead);
  if (ahead) {
    channel::expect(protocol::kProceed);
    cgroups::open(plan, hostRoot);
    close(hostRoot);
  }

  int release[2];
  if (pipe2(release, O_CLOEXEC) < 0) channel::fail("pipe", errno);
  pid_t child = cgroups::forkSibling();
  if (child < 0) channel::fail("clone the container process", errno);
  if (child == 0) {
    close(release[1]);
    runStage2(plan, release[0]);
  }
  close(release[0]);
  channel::send(protocol::kPid, "\"pid\":" + std::to_string(child));
  close(release[1]);
  return 0;
}
