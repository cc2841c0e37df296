// The cgroup v2 device filter mechanism: load an already-built BPF_PROG_TYPE_CGROUP_DEVICE
// program and attach it to a cgroup directory. Which rules become which instructions is
// policy and lives in TypeScript (src/cgroups/devices.ts); this file only talks to bpf(2).
//
//   attachDeviceFilter(cgroupDir: string, insns: Uint8Array, license: string): number
//     Loads `insns` (struct bpf_insn[]), attaches it with BPF_F_ALLOW_MULTI — with
//     BPF_F_REPLACE when exactly one program was attached directly to the cgroup before — and
//     detaches every other program that was attached directly to it. Returns the new
//     program's id.
//   deviceFilterIds(cgroupDir: string): number[]
//     The ids of the device programs attached directly to the cgroup.
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <napi.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "errors.h"

namespace {

long bpf(int cmd, union bpf_attr* attr) {
  long rc;
  do {
    rc = syscall(SYS_bpf, cmd, attr, sizeof(*attr));
  } while (rc < 0 && errno == EINTR);
  return rc;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Program ids attached directly (not inherited) to the cgroup for BPF_CGROUP_DEVICE.
bool queryIds(int cgroupFd, std::vector<uint32_t>* ids, int* err) {
  for (uint32_t capacity = 16;; capacity *= 4) {
    ids->assign(capacity, 0);
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = static_cast<uint32_t>(cgroupFd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uint64_t>(ids->data());
    attr.query.prog_cnt = capacity;
    if (bpf(BPF_PROG_QUERY, &attr) == 0) {
      ids->resize(attr.query.prog_cnt);
      return true;
    }
    if (errno != ENOSPC || capacity > 4096) {
      *err = errno;
      return false;
    }
  }
}

int progFdById(uint32_t id) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_id = id;
  return static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &attr));
}

int loadProgram(const uint8_t* insns, size_t size, const std::string& license, std::string* log) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(insns);
  attr.insn_cnt = static_cast<uint32_t>(size / sizeof(struct bpf_insn));
  attr.license = reinterpret_cast<uint64_t>(license.c_str());
  long fd = bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0 && errno == EPERM) {
    // Kernels before 5.11 charge programs to RLIMIT_MEMLOCK: lift it (only this process).
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &unlimited);
    fd = bpf(BPF_PROG_LOAD, &attr);
  }
  if (fd < 0 && (errno == EINVAL || errno == EACCES)) {
    // Load again with the verifier log, so the error says why.
    int err = errno;
    std::vector<char> buf(65536, 0);
    attr.log_level = 1;
    attr.log_buf = reinterpret_cast<uint64_t>(buf.data());
    attr.log_size = static_cast<uint32_t>(buf.size());
    bpf(BPF_PROG_LOAD, &attr);
    log->assign(buf.data());
    errno = err;
  }
  return static_cast<int>(fd);
}

Napi::Value AttachDeviceFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsTypedArray() || !info[2].IsString()) {
    Napi::TypeError::New(env, "attachDeviceFilter(cgroupDir: string, insns: Uint8Array, license: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string dir = info[0].As<Napi::String>();
  Napi::Uint8Array insns = info[1].As<Napi::Uint8Array>();
  std::string license = info[2].As<Napi::String>();
  if (insns.ByteLength() == 0 || insns.ByteLength() % sizeof(struct bpf_insn) != 0) {
    Napi::TypeError::New(env, "insns must hold whole struct bpf_insn records").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Fd cgroup(open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (cgroup.get() < 0) return throwErrno(env, "open " + dir, errno);

  std::vector<uint32_t> oldIds;
  int err = 0;
  if (!queryIds(cgroup.get(), &oldIds, &err)) return throwErrno(env, "BPF_PROG_QUERY " + dir, err);
  std::vector<Fd> oldProgs;
  for (uint32_t id : oldIds) {
    int fd = progFdById(id);
    // A program detached meanwhile is simply gone.
    if (fd < 0 && errno != ENOENT) return throwErrno(env, "BPF_PROG_GET_FD_BY_ID " + std::to_string(id), errno);
    if (fd >= 0) oldProgs.emplace_back(fd);
  }

  std::string log;
  Fd prog(loadProgram(insns.Data(), insns.ByteLength(), license, &log));
  if (prog.get() < 0) {
    err = errno;
    return throwErrno(env, "BPF_PROG_LOAD (cgroup device)" + (log.empty() ? std::string() : " [verifier: " + log + "]"), err);
  }

  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cgroup.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  bool replaced = false;
  if (oldProgs.size() == 1) {
    attr.attach_flags |= BPF_F_REPLACE;
    attr.replace_bpf_fd = static_cast<uint32_t>(oldProgs[0].get());
    replaced = bpf(BPF_PROG_ATTACH, &attr) == 0;
    if (!replaced) {
      // Kernels before 5.6 lack BPF_F_REPLACE: attach, then detach the old one below.
      attr.attach_flags = BPF_F_ALLOW_MULTI;
      attr.replace_bpf_fd = 0;
    }
  }
  if (!replaced && bpf(BPF_PROG_ATTACH, &attr) < 0) {
    return throwErrno(env, "BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) " + dir, errno);
  }
  if (!replaced) {
    for (const Fd& old : oldProgs) {
      union bpf_attr detach;
      memset(&detach, 0, sizeof detach);
      detach.target_fd = static_cast<uint32_t>(cgroup.get());
      detach.attach_bpf_fd = static_cast<uint32_t>(old.get());
      detach.attach_type = BPF_CGROUP_DEVICE;
      if (bpf(BPF_PROG_DETACH, &detach) < 0 && errno != ENOENT) {
        return throwErrno(env, "BPF_PROG_DETACH (BPF_CGROUP_DEVICE) of an old filter on " + dir, errno);
      }
    }
  }

  struct bpf_prog_info progInfo;
  memset(&progInfo, 0, sizeof progInfo);
  memset(&attr, 0, sizeof attr);
  attr.info.bpf_fd = static_cast<uint32_t>(prog.get());
  attr.info.info_len = sizeof progInfo;
  attr.info.info = reinterpret_cast<uint64_t>(&progInfo);
  if (bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, progInfo.id);
}

Napi::Value DeviceFilterIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "deviceFilterIds(cgroupDir: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string dir = info[0].As<Napi::String>();
  Fd cgroup(open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (cgroup.get() < 0) return throwErrno(env, "open " + dir, errno);
  std::vector<uint32_t> ids;
  int err = 0;
  if (!queryIds(cgroup.get(), &ids, &err)) return throwErrno(env, "BPF_PROG_QUERY " + dir, err);
  Napi::Array out = Napi::Array::New(env, ids.size());
  for (size_t i = 0; i < ids.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, ids[i]));
  return out;
}

}  // namespace

// Called from addon.cc's Init.
void InitBpfDevices(Napi::Env env, Napi::Object exports) {
  exports.Set("attachDeviceFilter", Napi::Function::New(env, AttachDeviceFilter));
  exports.Set("deviceFilterIds", Napi::Function::New(env, DeviceFilterIds));
}
