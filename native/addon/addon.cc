// runts.node: the small set of system calls the TypeScript runtime needs that Node lacks.
// Policy stays in TypeScript; each function here does one mechanism and reports errno.
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "procfs.h"

namespace {

Napi::Value throwErrno(Napi::Env env, const std::string& what, int err) {
  Napi::Error error = Napi::Error::New(env, what + ": " + strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) return throwErrno(info.Env(), "socketpair", errno);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

bool copyAll(int from, int to) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(to, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno != EINTR) return false;
      if (w > 0) done += w;
    }
  }
}

// A sealed memfd copy: the container can exec it through /proc/self/exe but never write it
// (runc CVE-2019-5736).
Napi::Value SealedCopy(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>(), name = info[1].As<Napi::String>();
  int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return throwErrno(info.Env(), "open " + path, errno);
  int memfd = static_cast<int>(syscall(SYS_memfd_create, name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (memfd < 0) {
    int err = errno;
    close(src);
    return throwErrno(info.Env(), "memfd_create", err);
  }
  bool copied = copyAll(src, memfd);
  int err = errno;
  close(src);
  if (!copied || fchmod(memfd, 0555) < 0 ||
      fcntl(memfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    if (copied) err = errno;
    close(memfd);
    return throwErrno(info.Env(), "seal a copy of " + path, err);
  }
  return Napi::Number::New(info.Env(), memfd);
}

Napi::Value LockFile(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return throwErrno(info.Env(), "open lock " + path, errno);
  while (flock(fd, LOCK_EX) < 0) {
    if (errno == EINTR) continue;
    int err = errno;
    close(fd);
    return throwErrno(info.Env(), "lock " + path, err);
  }
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  mode_t mode = info[1].As<Napi::Number>().Uint32Value();
  if (mkfifo(path.c_str(), mode) < 0) return throwErrno(info.Env(), "mkfifo " + path, errno);
  if (chmod(path.c_str(), mode) < 0) return throwErrno(info.Env(), "chmod " + path, errno);
  return info.Env().Undefined();
}

bool sameProcess(pid_t pid, uint64_t startTime) { return startTime != 0 && processStartTime(pid) == startTime; }

// Opening for reading unblocks the init's open for writing; its byte says it is going ahead.
// Non-blocking so a dead init cannot hang `start`.
Napi::Value ReleaseExecFifo(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  pid_t pid = info[1].As<Napi::Number>().Int32Value();
  uint64_t startTime = static_cast<uint64_t>(info[2].As<Napi::Number>().DoubleValue());
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throwErrno(info.Env(), "open exec fifo " + path, errno);
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) {
      int err = errno;
      close(fd);
      return throwErrno(info.Env(), "poll exec fifo", err);
    }
    if (ready > 0 && (p.revents & POLLIN)) {
      char byte;
      ssize_t n = read(fd, &byte, 1);
      close(fd);
      if (n == 1) return info.Env().Undefined();
      return throwErrno(info.Env(), "read exec fifo", n < 0 ? errno : EPIPE);
    }
    if (!sameProcess(pid, startTime)) {
      close(fd);
      Napi::Error::New(info.Env(), "container init exited before it could be started").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
  }
}

class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, pid_t pid) : Napi::AsyncWorker(env), pid_(pid), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    for (;;) {
      pid_t r = waitpid(pid_, &status_, __WALL);
      if (r == pid_) return;
      if (r < 0 && errno == EINTR) continue;
      error_ = errno;
      return;
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (error_) {
      deferred_.Reject(Napi::Error::New(env, std::string("waitpid: ") + strerror(error_)).Value());
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("code", WIFEXITED(status_) ? Napi::Number::New(env, WEXITSTATUS(status_)) : env.Null());
    result.Set("signal", WIFSIGNALED(status_) ? Napi::Number::New(env, WTERMSIG(status_)) : env.Null());
    deferred_.Resolve(result);
  }

 private:
  pid_t pid_;
  int status_ = 0;
  int error_ = 0;
  Napi::Promise::Deferred deferred_;
};

Napi::Value WaitExit(const Napi::CallbackInfo& info) {
  auto* worker = new WaitWorker(info.Env(), info[0].As<Napi::Number>().Int32Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) return throwErrno(info.Env(), "prctl PR_SET_CHILD_SUBREAPER", errno);
  return info.Env().Undefined();
}

// pidfd first, then the start-time check: once the pidfd is held, the pid cannot be recycled
// under it, so a matching start time proves it is still our process.
Napi::Value SignalProcess(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  uint64_t startTime = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
  int sig = info[2].As<Napi::Number>().Int32Value();
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return throwErrno(info.Env(), "pidfd_open " + std::to_string(pid), errno);
  if (!sameProcess(pid, startTime)) {
    close(pidfd);
    return throwErrno(info.Env(), "signal " + std::to_string(pid), ESRCH);
  }
  long rc = syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
  int err = errno;
  close(pidfd);
  if (rc < 0) return throwErrno(info.Env(), "signal " + std::to_string(pid), err);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("socketpair", Napi::Function::New(env, Socketpair));
  exports.Set("sealedCopy", Napi::Function::New(env, SealedCopy));
  exports.Set("lockFile", Napi::Function::New(env, LockFile));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  exports.Set("releaseExecFifo", Napi::Function::New(env, ReleaseExecFifo));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
  exports.Set("signalProcess", Napi::Function::New(env, SignalProcess));
  return exports;
}

}  // namespace

NODE_API_MODULE(runts, Init)
