// runts.node: the small set of system calls the TypeScript runtime needs that Node lacks.
// Policy stays in TypeScript; each function here does one mechanism and reports errno.
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <uv.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <linux/seccomp.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "errors.h"
#include "procfs.h"

// native/addon/bpf_devices.cc: the cgroup v2 device filter.
void InitBpfDevices(Napi::Env env, Napi::Object exports);

namespace {

Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) return throwErrno(info.Env(), "socketpair", errno);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

std::vector<std::string> argStrings(const Napi::Value& argv0, const Napi::Value& args) {
  std::vector<std::string> out{argv0.As<Napi::String>()};
  Napi::Array list = args.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) out.push_back(list.Get(i).As<Napi::String>());
  return out;
}

std::vector<int> fdList(const Napi::Value& value) {
  Napi::Array list = value.As<Napi::Array>();
  std::vector<int> out;
  for (uint32_t i = 0; i < list.Length(); i++) out.push_back(list.Get(i).As<Napi::Number>().Int32Value());
  return out;
}

// sendfile copies in the kernel: half the time of a read/write loop through a user buffer
// (0.26-0.43 ms against 0.50-0.78 ms for the 1 MB init, the first copy of a process).
bool copyAll(int from, int to) {
  struct stat st;
  if (fstat(from, &st) < 0) return false;
  for (off_t left = st.st_size; left > 0;) {
    ssize_t n = sendfile(to, from, nullptr, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;  // the file shrank under us
      return false;
    }
    left -= n;
  }
  return true;
}

// A sealed memfd copy: the container can exec it through /proc/self/exe but never write it
// (runc CVE-2019-5736). Returns the fd, or -1 with errno and `failed` naming the step.
int makeSealedCopy(const std::string& path, const std::string& name, std::string& failed) {
  int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) {
    failed = "open " + path;
    return -1;
  }
  int memfd = static_cast<int>(syscall(SYS_memfd_create, name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (memfd < 0) {
    int err = errno;
    close(src);
    failed = "memfd_create";
    errno = err;
    return -1;
  }
  bool copied = copyAll(src, memfd);
  int err = errno;
  close(src);
  if (!copied || fchmod(memfd, 0555) < 0 ||
      fcntl(memfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    if (copied) err = errno;
    close(memfd);
    failed = "seal a copy of " + path;
    errno = err;
    return -1;
  }
  return memfd;
}

// With a timeout (ms) the wait is bounded: ETIMEDOUT once it passes. A holder that dies frees
// the lock at once (flock belongs to its open file), so only a live, stuck holder times out.
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  bool bounded = info.Length() > 1 && info[1].IsNumber();
  int64_t timeoutMs = bounded ? info[1].As<Napi::Number>().Int64Value() : 0;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return throwErrno(info.Env(), "open lock " + path, errno);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (flock(fd, bounded ? LOCK_EX | LOCK_NB : LOCK_EX) < 0) {
    if (errno == EINTR) continue;
    if (bounded && errno == EWOULDBLOCK) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (elapsed < timeoutMs) {
        usleep(2000);
        continue;
      }
      errno = ETIMEDOUT;
    }
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

// Node's writeFileSync and renameSync compile ~0.4 ms of Node's own code the first time a
// process calls them, and create and delete each write a record or two: the whole write here.
// The temp file is created with `mode` (less the umask), as writeFileSync would; on any failure
// it is unlinked and nothing replaces `path`.
Napi::Value WriteFileAtomic(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  std::string temp = info[1].As<Napi::String>();
  std::string content = info[2].As<Napi::String>();
  mode_t mode = info[3].As<Napi::Number>().Uint32Value();
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return throwErrno(info.Env(), "open " + temp, errno);
  int err = 0;
  for (size_t done = 0; done < content.size();) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) < 0 && err == 0) err = errno;
  std::string failed = "write " + temp;
  if (err == 0 && rename(temp.c_str(), path.c_str()) < 0) {
    err = errno;
    failed = "rename " + temp + " to " + path;
  }
  if (err == 0) return info.Env().Undefined();
  unlink(temp.c_str());
  return throwErrno(info.Env(), failed, err);
}

// The errno's name ("EBUSY") of a failed call, "" after one that succeeded.
Napi::Value errnoName(Napi::Env env, int result) {
  const char* name = result < 0 ? strerrorname_np(errno) : "";
  return Napi::String::New(env, name ? name : "EIO");
}

// mkdir(2) and rmdir(2), answered with errnoName: a cgroup that is there already or refuses to
// go is an everyday answer, not worth an exception with its stack (nor the ~0.1 ms each of
// fs.mkdirSync and fs.rmdirSync compile of Node's own code at their first call).
Napi::Value Mkdir(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  return errnoName(info.Env(), mkdir(path.c_str(), info[1].As<Napi::Number>().Uint32Value()));
}

Napi::Value Rmdir(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  return errnoName(info.Env(), rmdir(path.c_str()));
}

// rm -r of a directory of plain files (a container's state dir): unlinkat of each entry, then
// rmdir. false, with the files gone, when a subdirectory was in it (the caller removes it);
// true when the directory is gone or was never there. Node's readdirSync with file types
// compiled ~0.15 ms of its own code at its first call.
Napi::Value RemoveFlatDirectory(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Napi::Boolean::New(info.Env(), true) : throwErrno(info.Env(), "open " + path, errno);
  DIR* dir = fdopendir(fd);
  if (!dir) {
    int err = errno;
    close(fd);
    return throwErrno(info.Env(), "read " + path, err);
  }
  bool flat = true;
  int err = 0;
  for (struct dirent* entry; err == 0 && (entry = readdir(dir)) != nullptr;) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if (unlinkat(fd, entry->d_name, 0) == 0 || errno == ENOENT) continue;
    if (errno == EISDIR) flat = false;
    else err = errno;
  }
  closedir(dir);
  if (err != 0) return throwErrno(info.Env(), "remove an entry of " + path, err);
  if (flat && rmdir(path.c_str()) < 0 && errno != ENOENT) return throwErrno(info.Env(), "rmdir " + path, errno);
  return Napi::Boolean::New(info.Env(), flat);
}

// A cgroup file's value, in one write(2) as the kernel wants it, to a file that must exist.
// fs.writeSync compiled ~0.25 ms of Node's own code at its first call in a process.
Napi::Value WriteExisting(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  std::string content = info[1].As<Napi::String>();
  int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return throwErrno(info.Env(), "open " + path, errno);
  ssize_t n;
  do n = write(fd, content.data(), content.size());
  while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  close(fd);
  if (err != 0) return throwErrno(info.Env(), "write " + path, err);
  return info.Env().Undefined();
}

// Writes `content` to an existing file from a detached thread and forgets it: no result, no
// error, nothing for the event loop to wait on (a process that exits first ends the thread).
Napi::Value WriteFileInBackground(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  std::string content = info[1].As<Napi::String>();
  std::thread([path, content]() {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t ignored = write(fd, content.data(), content.size());
    (void)ignored;
    close(fd);
  }).detach();
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
  // Gone from the state dir the moment start commits: a start killed from here on leaves a
  // container that reads as running (or stopped), never one that a second start would retry.
  unlink(path.c_str());
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

// {code, signal} of a waitpid status.
Napi::Object exitStatus(Napi::Env env, int status) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("code", WIFEXITED(status) ? Napi::Number::New(env, WEXITSTATUS(status)) : env.Null());
  result.Set("signal", WIFSIGNALED(status) ? Napi::Number::New(env, WTERMSIG(status)) : env.Null());
  return result;
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
    deferred_.Resolve(exitStatus(env, status_));
  }

 private:
  pid_t pid_;
  int status_ = 0;
  int error_ = 0;
  Napi::Promise::Deferred deferred_;
};

// waitpid(WNOHANG) of child `pid`, EINTR retried: `pid` once reaped (status in *status), 0 while
// it runs, -1 with errno set when it is no child of ours.
pid_t reapIfExited(pid_t pid, int* status) {
  pid_t r;
  do r = waitpid(pid, status, WNOHANG | __WALL);
  while (r < 0 && errno == EINTR);
  return r;
}

// One waitExit on the event loop: libuv polls the child's pidfd, readable once it has exited.
struct ExitWatch {
  ExitWatch(Napi::Env env, pid_t pid, int pidfd)
      : env(env), pid(pid), pidfd(pidfd), deferred(Napi::Promise::Deferred::New(env)), context(env, "runts:waitExit") {}
  uv_poll_t handle;
  Napi::Env env;
  pid_t pid;
  int pidfd;
  Napi::Promise::Deferred deferred;
  Napi::AsyncContext context;
};

void CloseWatch(ExitWatch* watch) {
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->handle), [](uv_handle_t* closed) {
    auto* done = static_cast<ExitWatch*>(closed->data);
    close(done->pidfd);
    delete done;
  });
}

void OnChildExited(uv_poll_t* handle, int status, int /*events*/) {
  auto* watch = static_cast<ExitWatch*>(handle->data);
  int wstatus = 0;
  pid_t r = reapIfExited(watch->pid, &wstatus);
  int err = r < 0 ? errno : status < 0 ? -status : 0;
  if (r == 0 && !err) return;  // woken early: wait on
  uv_poll_stop(handle);
  {
    Napi::HandleScope scope(watch->env);
    // Resolved from a libuv callback: the scope runs the promise's reactions as it closes.
    Napi::CallbackScope callbackScope(watch->env, watch->context);
    if (r == watch->pid) {
      watch->deferred.Resolve(exitStatus(watch->env, wstatus));
    } else {
      const char* what = r < 0 ? strerror(err) : uv_strerror(-err);
      watch->deferred.Reject(Napi::Error::New(watch->env, std::string("waitpid: ") + what).Value());
    }
  }
  CloseWatch(watch);
}

// waitExit(pid): a promise of child `pid`'s exit status. Its pidfd is polled on the event loop,
// so no thread is needed: the first job queued to libuv's pool starts its four threads, ~0.75 ms
// of a `run`. Where there is no pidfd (a kernel before 5.3), a pool thread blocks in waitpid.
Napi::Value WaitExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  // Asked first, as the pool's waitpid would: a child already gone, or no child of ours at all.
  int wstatus = 0;
  pid_t r = reapIfExited(pid, &wstatus);
  if (r != 0) {
    auto deferred = Napi::Promise::Deferred::New(env);
    if (r == pid) deferred.Resolve(exitStatus(env, wstatus));
    else deferred.Reject(Napi::Error::New(env, std::string("waitpid: ") + strerror(errno)).Value());
    return deferred.Promise();
  }
  uv_loop_t* loop = nullptr;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0 && napi_get_uv_event_loop(env, &loop) == napi_ok) {
    auto* watch = new ExitWatch(env, pid, pidfd);
    watch->handle.data = watch;
    if (uv_poll_init(loop, &watch->handle, pidfd) == 0) {
      if (uv_poll_start(&watch->handle, UV_READABLE, OnChildExited) == 0) return watch->deferred.Promise();
      CloseWatch(watch);  // and its pidfd
    } else {
      close(pidfd);
      delete watch;
    }
  } else if (pidfd >= 0) {
    close(pidfd);
  }
  auto* worker = new WaitWorker(env, pid);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// The signal handles of one forwardSignals, freed once the last of them has closed.
struct SignalForward {
  pid_t pid;
  size_t open;
  std::vector<uv_signal_t> handles;
};

void OnForwardedSignal(uv_signal_t* handle, int signum) {
  auto* forward = static_cast<SignalForward*>(handle->data);
  kill(forward->pid, signum);  // a process already gone is no error
}

// The signals forwardSignals can be asked for, by name (their numbers differ between architectures).
int SignalNumber(const std::string& name) {
  static const struct {
    const char* name;
    int number;
  } kSignals[] = {{"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},   {"SIGTERM", SIGTERM},
                  {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGWINCH", SIGWINCH}, {"SIGCONT", SIGCONT}};
  for (const auto& signal : kSignals)
    if (name == signal.name) return signal.number;
  return 0;
}

// forwardSignals(pid, names): from now on, each of the signals named that runts receives is sent
// on to `pid`, until the returned function is called. libuv's signal handles, as process.on(signal)
// makes them, without Node's listener machinery (~0.25 ms of a foreground run or exec).
Napi::Value ForwardSignals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array names = info[1].As<Napi::Array>();
  std::vector<int> numbers;
  for (uint32_t i = 0; i < names.Length(); i++) {
    std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    int number = SignalNumber(name);
    if (number == 0) return throwErrno(env, "forward " + name, EINVAL);
    numbers.push_back(number);
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throwErrno(env, "forward signals", EINVAL);
  auto* forward = new SignalForward{info[0].As<Napi::Number>().Int32Value(), 0, std::vector<uv_signal_t>(numbers.size())};
  for (size_t i = 0; i < numbers.size(); i++) {
    uv_signal_t* handle = &forward->handles[i];
    uv_signal_init(loop, handle);
    handle->data = forward;
    forward->open++;
    uv_signal_start(handle, OnForwardedSignal, numbers[i]);
  }
  // Stopping twice is a no-op: `forward` is gone once its handles have closed.
  auto stopped = std::make_shared<bool>(false);
  return Napi::Function::New(env, [forward, stopped](const Napi::CallbackInfo& stopInfo) {
    if (*stopped) return stopInfo.Env().Undefined();
    *stopped = true;
    if (forward->handles.empty()) {
      delete forward;
      return stopInfo.Env().Undefined();
    }
    for (auto& handle : forward->handles) {
      uv_close(reinterpret_cast<uv_handle_t*>(&handle), [](uv_handle_t* closed) {
        auto* owner = static_cast<SignalForward*>(closed->data);
        if (--owner->open == 0) delete owner;
      });
    }
    return stopInfo.Env().Undefined();
  });
}

// reapExited(pid): reaps child `pid` if it has exited, without blocking: its status, or null
// while it runs. A process known to be gone (its pidfd readable) is reaped this way without
// starting libuv's thread pool and waiting a turn of the event loop (~0.3 ms).
Napi::Value ReapExited(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int status = 0;
  pid_t r = reapIfExited(pid, &status);
  if (r == pid) return exitStatus(info.Env(), status);
  if (r == 0) return info.Env().Null();
  return throwErrno(info.Env(), "waitpid " + std::to_string(pid), errno);
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

// pidfdOpen(pid, startTime): a pidfd of `pid` (close-on-exec), only if it is still the process
// that started at `startTime`: checked after the pidfd is held, so it cannot be recycled under us.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  uint64_t startTime = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return throwErrno(info.Env(), "pidfd_open " + std::to_string(pid), errno);
  if (!sameProcess(pid, startTime)) {
    close(pidfd);
    return throwErrno(info.Env(), "pidfd_open " + std::to_string(pid), ESRCH);
  }
  return Napi::Number::New(info.Env(), pidfd);
}

// listFds(): every open fd of this process as {fd, target (readlink), accessMode (O_ACCMODE)}.
Napi::Value ListFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return throwErrno(env, "open /proc/self/fd", errno);
  int self = dirfd(dir);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    int fd = atoi(entry->d_name);
    if (fd == self) continue;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) continue;
    char target[4096];
    std::string link = std::string("/proc/self/fd/") + entry->d_name;
    ssize_t len = readlink(link.c_str(), target, sizeof target - 1);
    Napi::Object item = Napi::Object::New(env);
    item.Set("fd", fd);
    item.Set("target", Napi::String::New(env, len > 0 ? std::string(target, static_cast<size_t>(len)) : std::string()));
    item.Set("accessMode", fl & O_ACCMODE);
    out.Set(n++, item);
  }
  closedir(dir);
  return out;
}

// markCloseOnExecFrom(first): FD_CLOEXEC on every fd >= first.
Napi::Value MarkCloseOnExecFrom(const Napi::CallbackInfo& info) {
  unsigned first = info[0].As<Napi::Number>().Uint32Value();
  if (syscall(SYS_close_range, first, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) < 0)
    return throwErrno(info.Env(), "mark fds close-on-exec", errno);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- fd passing, seccomp notify

// Waits up to timeoutMs (-1: forever) for `events` on fd; false on timeout (errno ETIMEDOUT).
bool waitFd(int fd, short events, int timeoutMs) {
  for (;;) {
    struct pollfd p = {fd, events, 0};
    int ready = poll(&p, 1, timeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) errno = ETIMEDOUT;
    return ready > 0;
  }
}

// waitReadable(fd, timeoutMs): true once fd has something to read (or EOF), false on timeout.
Napi::Value WaitReadable(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int timeoutMs = info[1].As<Napi::Number>().Int32Value();
  return Napi::Boolean::New(info.Env(), waitFd(fd, POLLIN, timeoutMs));
}

// The init channel's frames (src/init/channel.ts): a 4-byte little-endian length, then that many
// bytes of UTF-8 JSON. One call per frame each way: a header written apart from its body woke the
// init twice, and JS read each frame in four syscalls.
constexpr uint32_t kMaxFrame = 64u << 20;

// Reads all `n` bytes: 1 once read, 0 at EOF first, -1 with errno (ETIMEDOUT: silent for
// `timeoutMs`, which 0 leaves unbounded).
int readFull(int fd, char* buf, size_t n, int timeoutMs) {
  for (size_t got = 0; got < n;) {
    if (!waitFd(fd, POLLIN, timeoutMs > 0 ? timeoutMs : -1)) return -1;
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) return -1;
    if (r == 0) return 0;
    got += static_cast<size_t>(r);
  }
  return 1;
}

// readFrame(fd, timeoutMs): the next frame's body, or null once the peer has closed its end.
Napi::Value ReadFrame(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int timeoutMs = info[1].As<Napi::Number>().Int32Value();
  unsigned char header[4];
  int r = readFull(fd, reinterpret_cast<char*>(header), sizeof header, timeoutMs);
  if (r < 0) return throwErrno(info.Env(), "read a frame", errno);
  if (r == 0) return info.Env().Null();
  uint32_t length = header[0] | (header[1] << 8) | (header[2] << 16) | (static_cast<uint32_t>(header[3]) << 24);
  if (length > kMaxFrame) return throwErrno(info.Env(), "read a frame of " + std::to_string(length) + " bytes", EPROTO);
  std::string body(length, '\0');
  r = readFull(fd, body.data(), length, timeoutMs);
  if (r < 0) return throwErrno(info.Env(), "read a frame", errno);
  if (r == 0) return info.Env().Null();
  return Napi::String::New(info.Env(), body);
}

// writeFrame(fd, text): writes `text` as one frame, header and body in one writev.
Napi::Value WriteFrame(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string body = info[1].As<Napi::String>();
  if (body.size() > kMaxFrame) return throwErrno(info.Env(), "write a frame", EMSGSIZE);
  uint32_t length = static_cast<uint32_t>(body.size());
  unsigned char header[4] = {static_cast<unsigned char>(length), static_cast<unsigned char>(length >> 8),
                             static_cast<unsigned char>(length >> 16), static_cast<unsigned char>(length >> 24)};
  struct iovec parts[2] = {{header, sizeof header}, {body.data(), body.size()}};
  size_t left = sizeof header + body.size();
  while (left > 0) {
    ssize_t n = writev(fd, parts, 2);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return throwErrno(info.Env(), "write a frame", errno);
    left -= static_cast<size_t>(n);
    for (auto& part : parts) {
      size_t step = std::min(part.iov_len, static_cast<size_t>(n));
      part.iov_base = static_cast<char*>(part.iov_base) + step;
      part.iov_len -= step;
      n -= static_cast<ssize_t>(step);
    }
  }
  return info.Env().Undefined();
}

int timeoutArg(const Napi::CallbackInfo& info, size_t i, int fallback) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : fallback;
}

uint64_t u64Arg(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
}

// Appends the SCM_RIGHTS fds of one received message to `fds`.
void collectFds(struct msghdr& msg, std::vector<int>& fds) {
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.push_back(fd);
    }
  }
}

// One recvmsg of up to `len` bytes with room for 16 fds (close-on-exec). Returns its length.
ssize_t recvWithFds(int fd, char* data, size_t len, std::vector<int>& fds) {
  struct iovec iov = {data, len};
  union {
    char buf[CMSG_SPACE(16 * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  if (n >= 0) collectFds(msg, fds);
  return n;
}

// receiveFd(socketFd, timeoutMs = 30000): the fd runts-init sends (channel::sendFd) on one byte.
Napi::Value ReceiveFd(const Napi::CallbackInfo& info) {
  int sock = info[0].As<Napi::Number>().Int32Value();
  int timeoutMs = timeoutArg(info, 1, 30000);
  std::vector<int> fds;
  for (;;) {
    char byte;
    ssize_t n = recvWithFds(sock, &byte, 1, fds);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      if (errno == EAGAIN && !waitFd(sock, POLLIN, timeoutMs)) return throwErrno(info.Env(), "receive fd", errno);
      continue;
    }
    if (n < 0) return throwErrno(info.Env(), "receive fd", errno);
    if (n == 0 || fds.empty()) {
      for (int fd : fds) close(fd);
      return throwErrno(info.Env(), "receive fd", n == 0 ? EPIPE : EBADMSG);
    }
    for (size_t i = 1; i < fds.size(); i++) close(fds[i]);
    return Napi::Number::New(info.Env(), fds[0]);
  }
}

bool unixAddress(const std::string& path, struct sockaddr_un& addr) {
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

constexpr time_t kSocketSendTimeoutSeconds = 10;

// sendFdsToUnixSocket(path, data, fds): connects (AF_UNIX, SOCK_STREAM), sends `data` with `fds`
// as SCM_RIGHTS on its first byte, closes. runtime-spec's listenerPath protocol.
Napi::Value SendFdsToUnixSocket(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>(), data = info[1].As<Napi::String>();
  std::vector<int> fds = fdList(info[2]);
  if (data.empty() || fds.size() > 16) return throwErrno(info.Env(), "send fds to " + path, EINVAL);
  struct sockaddr_un addr;
  if (!unixAddress(path, addr)) return throwErrno(info.Env(), "connect " + path, ENAMETOOLONG);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return throwErrno(info.Env(), "socket", errno);
  // A listener that never accepts (full backlog) or never reads must not hang the runtime:
  // connect and sendmsg on AF_UNIX give up after SO_SNDTIMEO.
  struct timeval bound = {kSocketSendTimeoutSeconds, 0};
  setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
  int rc;
  while ((rc = connect(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr)) < 0 && errno == EINTR) {
  }
  if (rc < 0) {
    int err = errno == EAGAIN ? ETIMEDOUT : errno;
    close(sock);
    return throwErrno(info.Env(), "connect " + path, err);
  }
  union {
    char buf[CMSG_SPACE(16 * sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  size_t sent = 0;
  while (sent < data.size()) {
    struct iovec iov = {&data[sent], data.size() - sent};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (sent == 0) {
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
      struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
      memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    }
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno == EAGAIN ? ETIMEDOUT : errno;
      close(sock);
      return throwErrno(info.Env(), "send to " + path, err);
    }
    sent += static_cast<size_t>(n);
  }
  close(sock);
  return info.Env().Undefined();
}

// unixListen(path): a listening AF_UNIX SOCK_STREAM socket bound to `path` (tests, seccomp agents).
Napi::Value UnixListen(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  struct sockaddr_un addr;
  if (!unixAddress(path, addr)) return throwErrno(info.Env(), "bind " + path, ENAMETOOLONG);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return throwErrno(info.Env(), "socket", errno);
  if (bind(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0 || listen(sock, 16) < 0) {
    int err = errno;
    close(sock);
    return throwErrno(info.Env(), "listen on " + path, err);
  }
  return Napi::Number::New(info.Env(), sock);
}

// unixAcceptMessage(listenFd, timeoutMs = 10000): accepts one connection and reads it to EOF;
// returns {data, fds} with every SCM_RIGHTS fd received (close-on-exec).
Napi::Value UnixAcceptMessage(const Napi::CallbackInfo& info) {
  int listenFd = info[0].As<Napi::Number>().Int32Value();
  int timeoutMs = timeoutArg(info, 1, 10000);
  if (!waitFd(listenFd, POLLIN, timeoutMs)) return throwErrno(info.Env(), "accept", errno);
  int conn = accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return throwErrno(info.Env(), "accept", errno);
  std::string data;
  std::vector<int> fds;
  char buf[4096];
  int err = 0;
  for (;;) {
    if (!waitFd(conn, POLLIN, timeoutMs)) {
      err = errno;
      break;
    }
    ssize_t n = recvWithFds(conn, buf, sizeof buf, fds);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(conn);
  if (err) {
    for (int fd : fds) close(fd);
    return throwErrno(info.Env(), "read the accepted connection", err);
  }
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("data", Napi::String::New(info.Env(), data));
  Napi::Array list = Napi::Array::New(info.Env(), fds.size());
  for (uint32_t i = 0; i < fds.size(); i++) list.Set(i, Napi::Number::New(info.Env(), fds[i]));
  out.Set("fds", list);
  return out;
}

// seccompNotifyReceive(listenerFd, timeoutMs = 10000): the next SCMP_ACT_NOTIFY notification.
Napi::Value SeccompNotifyReceive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (!waitFd(fd, POLLIN, timeoutArg(info, 1, 10000))) return throwErrno(env, "wait for a seccomp notification", errno);
  struct seccomp_notif req;
  for (;;) {
    memset(&req, 0, sizeof req);  // the kernel insists
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) break;
    if (errno != EINTR) return throwErrno(env, "SECCOMP_IOCTL_NOTIF_RECV", errno);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", Napi::BigInt::New(env, static_cast<uint64_t>(req.id)));
  out.Set("pid", Napi::Number::New(env, req.pid));
  out.Set("flags", Napi::Number::New(env, req.flags));
  out.Set("syscall", Napi::Number::New(env, req.data.nr));
  out.Set("arch", Napi::Number::New(env, req.data.arch));
  out.Set("instructionPointer", Napi::BigInt::New(env, static_cast<uint64_t>(req.data.instruction_pointer)));
  Napi::Array args = Napi::Array::New(env, 6);
  for (uint32_t i = 0; i < 6; i++) args.Set(i, Napi::BigInt::New(env, static_cast<uint64_t>(req.data.args[i])));
  out.Set("args", args);
  return out;
}

// seccompNotifyRespond(listenerFd, id, error, val = 0, flags = 0): answers notification `id`:
// the syscall fails with errno `error` (> 0) or returns `val` (error 0); flags may hold
// SECCOMP_USER_NOTIF_FLAG_CONTINUE (1) to let it run.
Napi::Value SeccompNotifyRespond(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct seccomp_notif_resp resp;
  memset(&resp, 0, sizeof resp);
  resp.id = u64Arg(info[1]);
  resp.error = -info[2].As<Napi::Number>().Int32Value();
  resp.val = info.Length() > 3 ? static_cast<int64_t>(u64Arg(info[3])) : 0;
  resp.flags = info.Length() > 4 ? info[4].As<Napi::Number>().Uint32Value() : 0;
  while (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) {
    if (errno != EINTR) return throwErrno(info.Env(), "SECCOMP_IOCTL_NOTIF_SEND", errno);
  }
  return info.Env().Undefined();
}

// setWindowSize(fd, rows, cols): TIOCSWINSZ on a pty the runtime relays.
Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) return throwErrno(info.Env(), "set the window size", errno);
  return info.Env().Undefined();
}


// posix_spawn of `path` with `args` (argv0 first) and an empty environment; fds[i] becomes the
// child's fd i, stdio included. Every other fd must already be close-on-exec (guardInheritedFds).
// Signals the runtime ignores or blocks are reset: they would otherwise reach the container's
// process through execve. Returns the pid, or -1 with errno and `failed` naming the step.
// posix_spawn spares the runtime loading child_process (and its streams) and the fork of a
// large process.
pid_t spawnWithFds(const std::string& path, std::vector<std::string> args, const std::vector<int>& fds, std::string& failed) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};

  // Each source is first duplicated above every target, so no dup2 overwrites a later source.
  const int count = static_cast<int>(fds.size());
  std::vector<int> high;
  auto closeHigh = [&high]() {
    for (int fd : high) close(fd);
  };
  for (int source : fds) {
    int fd = fcntl(source, F_DUPFD_CLOEXEC, count);
    if (fd < 0) {
      int err = errno;
      closeHigh();
      failed = "spawn runts-init: dup";
      errno = err;
      return -1;
    }
    high.push_back(fd);
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  for (int i = 0; i < count; i++) posix_spawn_file_actions_adddup2(&actions, high[i], i);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int err = posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  closeHigh();
  if (err != 0) {
    failed = "spawn runts-init";
    errno = err;
    return -1;
  }
  return pid;
}

// An init startInitSpawn copies and spawns off the JS thread, for collectInit.
struct BackgroundInit {
  std::string path, name;
  std::vector<std::string> args;
  std::vector<int> before, after;  // the child's fds, the sealed copy between them
  pthread_t thread;
  bool onThread = false;
  pid_t pid = -1;
  int error = 0;
  std::string failed;
};
std::unique_ptr<BackgroundInit> backgroundInit;  // touched by the JS thread only

void copyAndSpawn(BackgroundInit& job) {
  std::string failed;
  pid_t pid = -1;
  int copy = makeSealedCopy(job.path, job.name, failed);
  int err = errno;
  if (copy >= 0) {
    std::vector<int> fds = job.before;
    fds.push_back(copy);
    fds.insert(fds.end(), job.after.begin(), job.after.end());
    pid = spawnWithFds("/proc/self/fd/" + std::to_string(job.before.size()), job.args, fds, failed);
    err = errno;
    close(copy);
  }
  job.pid = pid;
  job.error = err;
  job.failed = failed;
}

void* runBackgroundInit(void* job) {
  copyAndSpawn(*static_cast<BackgroundInit*>(job));
  return nullptr;
}

// Waits for the thread of `job`, if it has one; its results are then this thread's to read.
void joinBackground(BackgroundInit& job) {
  if (job.onThread) pthread_join(job.thread, nullptr);
  job.onThread = false;
}

// startInitSpawn(path, name, argv0, args, before, after): a sealed copy of `path` (named `name`)
// spawned as the init on a thread of its own, so that it execs and starts while the runtime
// loads and plans. Its fds are `before`, the copy (executed through /proc/self/fd), then `after`;
// they must stay open until collectInit. Where no thread can be made (a pids limit), it is done
// here and now: a failed std::thread would have aborted the process.
Napi::Value StartInitSpawn(const Napi::CallbackInfo& info) {
  if (backgroundInit) joinBackground(*backgroundInit);  // never collected: its thread must end first
  auto job = std::make_unique<BackgroundInit>();
  job->path = info[0].As<Napi::String>();
  job->name = info[1].As<Napi::String>();
  job->args = argStrings(info[2], info[3]);
  job->before = fdList(info[4]);
  job->after = fdList(info[5]);
  job->onThread = pthread_create(&job->thread, nullptr, runBackgroundInit, job.get()) == 0;
  if (!job->onThread) copyAndSpawn(*job);
  backgroundInit = std::move(job);
  return info.Env().Undefined();
}

// collectInit(): the pid of the init startInitSpawn spawned, once it has; throws what failed.
Napi::Value CollectInit(const Napi::CallbackInfo& info) {
  if (!backgroundInit) return throwErrno(info.Env(), "collect runts-init: none was started", EINVAL);
  std::unique_ptr<BackgroundInit> job = std::move(backgroundInit);
  bool wasOnThread = job->onThread;
  joinBackground(*job);
  // The thread held a task of a pids limit while it spawned: with one task left, the child could
  // not be made. The thread is gone now, and so is the shortage.
  if (job->pid < 0 && job->error == EAGAIN && wasOnThread) copyAndSpawn(*job);
  if (job->pid < 0) return throwErrno(info.Env(), job->failed, job->error);
  return Napi::Number::New(info.Env(), job->pid);
}

// realtimeNanos(): CLOCK_REALTIME in nanoseconds (a bigint), for `created`; Node's own clock
// at this resolution is performance.now, whose module costs create more than the call.
Napi::Value RealtimeNanos(const Napi::CallbackInfo& info) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  uint64_t nanos = static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
  return Napi::BigInt::New(info.Env(), nanos);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("socketpair", Napi::Function::New(env, Socketpair));
  exports.Set("startInitSpawn", Napi::Function::New(env, StartInitSpawn));
  exports.Set("collectInit", Napi::Function::New(env, CollectInit));
  exports.Set("realtimeNanos", Napi::Function::New(env, RealtimeNanos));
  exports.Set("lockFile", Napi::Function::New(env, LockFile));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  exports.Set("writeFileInBackground", Napi::Function::New(env, WriteFileInBackground));
  exports.Set("writeFileAtomic", Napi::Function::New(env, WriteFileAtomic));
  exports.Set("writeExisting", Napi::Function::New(env, WriteExisting));
  exports.Set("mkdir", Napi::Function::New(env, Mkdir));
  exports.Set("rmdir", Napi::Function::New(env, Rmdir));
  exports.Set("removeFlatDirectory", Napi::Function::New(env, RemoveFlatDirectory));
  exports.Set("releaseExecFifo", Napi::Function::New(env, ReleaseExecFifo));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit));
  exports.Set("forwardSignals", Napi::Function::New(env, ForwardSignals));
  exports.Set("reapExited", Napi::Function::New(env, ReapExited));
  exports.Set("signalProcess", Napi::Function::New(env, SignalProcess));
  exports.Set("receiveFd", Napi::Function::New(env, ReceiveFd));
  exports.Set("readFrame", Napi::Function::New(env, ReadFrame));
  exports.Set("writeFrame", Napi::Function::New(env, WriteFrame));
  exports.Set("waitReadable", Napi::Function::New(env, WaitReadable));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("listFds", Napi::Function::New(env, ListFds));
  exports.Set("markCloseOnExecFrom", Napi::Function::New(env, MarkCloseOnExecFrom));
  exports.Set("sendFdsToUnixSocket", Napi::Function::New(env, SendFdsToUnixSocket));
  exports.Set("unixListen", Napi::Function::New(env, UnixListen));
  exports.Set("unixAcceptMessage", Napi::Function::New(env, UnixAcceptMessage));
  exports.Set("seccompNotifyReceive", Napi::Function::New(env, SeccompNotifyReceive));
  exports.Set("seccompNotifyRespond", Napi::Function::New(env, SeccompNotifyRespond));
  InitBpfDevices(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(runts, Init)
