#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "channel.h"
#include "protocol.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace seccomp {

namespace {

constexpr uint32_t kX32SyscallBit = 0x40000000;

[[noreturn]] void failRc(const std::string& step, int rc) { channel::fail("seccomp: " + step, rc < 0 ? -rc : rc); }

uint32_t u32(const json::Value& v) { return static_cast<uint32_t>(v.u64()); }

const char* flagName(unsigned bit) {
  switch (bit) {
    case SECCOMP_FILTER_FLAG_LOG: return "SECCOMP_FILTER_FLAG_LOG";
    case SECCOMP_FILTER_FLAG_SPEC_ALLOW: return "SECCOMP_FILTER_FLAG_SPEC_ALLOW";
    case SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: return "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";
    case SECCOMP_FILTER_FLAG_NEW_LISTENER: return "SECCOMP_FILTER_FLAG_NEW_LISTENER";
    default: return "unknown seccomp filter flag";
  }
}

// seccomp(SET_MODE_FILTER) checks the flags before it reads the program: a NULL program gives
// EFAULT for flags the kernel knows and EINVAL for the others (WAIT_KILLABLE_RECV is only valid
// with NEW_LISTENER).
bool kernelHasFlag(unsigned bit) {
  unsigned probe = bit;
  if (bit == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) probe |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, probe, nullptr) < 0 && errno == EFAULT;
}

unsigned filterFlags(const json::Value& plan) {
  unsigned flags = 0;
  unsigned required = u32(plan["flags"]), optional = u32(plan["flagsIfSupported"]);
  if (plan["notify"].flag()) required |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  for (unsigned bit = 1; bit != 0 && bit <= (required | optional); bit <<= 1) {
    if (!((required | optional) & bit)) continue;
    if (kernelHasFlag(bit)) {
      flags |= bit;
    } else if (required & bit) {
      channel::fail(std::string("seccomp: ") + flagName(bit) + " is not supported by the running kernel", 0);
    }
  }
  return flags;
}

uint32_t resolveArch(const std::string& name) {
  return name == "native" ? seccomp_arch_native() : seccomp_arch_resolve_name(name.c_str());
}

scmp_filter_ctx buildFilter(const json::Value& plan) {
  scmp_filter_ctx ctx = seccomp_init(u32(plan["defaultAction"]));
  if (!ctx) channel::fail("seccomp: create a filter with default action " + std::to_string(u32(plan["defaultAction"])), EINVAL);
  // no_new_privs is proc::finalize's decision; the program is loaded below, not by libseccomp.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) failRc("clear the no_new_privs attribute", rc);
  if (plan["optimize"].flag()) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);  // best effort, as runc

  const json::Value& arches = plan["architectures"];
  for (size_t i = 0; i < arches.size(); i++) {
    std::string name = arches.at(i).str();
    uint32_t arch = resolveArch(name);
    if (arch == 0) channel::fail("seccomp: architecture " + name + " is not known to libseccomp", 0);
    rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) failRc("add architecture " + name, rc);
  }

  const json::Value& rules = plan["rules"];
  std::vector<scmp_arg_cmp> conditions;
  for (size_t i = 0; i < rules.size(); i++) {
    const json::Value& rule = rules.at(i);
    const json::Value& names = rule["names"];
    const json::Value& sets = rule["conditionSets"];
    const uint32_t action = u32(rule["action"]);
    for (size_t n = 0; n < names.size(); n++) {
      const std::string& name = names.at(n).text;
      int nr = seccomp_syscall_resolve_name(name.c_str());
      // A name this libseccomp does not know: runc assumes the kernel lacks it and goes on.
      if (nr == __NR_SCMP_ERROR) continue;
      for (size_t k = 0; k < sets.size(); k++) {
        const json::Value& set = sets.at(k);
        conditions.clear();
        for (size_t j = 0; j < set.size(); j++) {
          const json::Value& a = set.at(j);
          scmp_arg_cmp cmp = {};
          cmp.arg = static_cast<unsigned int>(a["index"].u64());
          cmp.op = static_cast<scmp_compare>(a["op"].u64());
          cmp.datum_a = a["value"].u64();
          cmp.datum_b = a["valueTwo"].u64();
          conditions.push_back(cmp);
        }
        rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned int>(conditions.size()),
                                    conditions.empty() ? nullptr : conditions.data());
        if (rc < 0) failRc("add the rule for syscall " + name, rc);
      }
    }
  }
  return ctx;
}

std::vector<sock_filter> exportProgram(scmp_filter_ctx ctx) {
  int fd = static_cast<int>(syscall(SYS_memfd_create, "seccomp-bpf", MFD_CLOEXEC));
  if (fd < 0) channel::fail("seccomp: memfd_create", errno);
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) failRc("export the filter", rc);
  off_t size = lseek(fd, 0, SEEK_END);
  if (size < 0 || size % sizeof(sock_filter) != 0) channel::fail("seccomp: exported filter has a bad size", size < 0 ? errno : 0);
  std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
  char* out = reinterpret_cast<char*>(program.data());
  for (off_t done = 0; done < size;) {
    ssize_t n = pread(fd, out + done, static_cast<size_t>(size - done), done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) channel::fail("seccomp: read the exported filter", n < 0 ? errno : EIO);
    done += n;
  }
  close(fd);
  return program;
}

// ---------------------------------------------------------------- the -ENOSYS stub
//
// runc (libcontainer/seccomp/patchbpf) puts this in front of libseccomp's program when the
// default action refuses calls: per listed architecture, a syscall numbered above the highest
// one the profile names gets ENOSYS (a syscall newer than the profile: libc falls back) instead
// of the default action. x86_64 and x32 share AUDIT_ARCH_X86_64 and are told apart by the x32
// bit; on s390(x) syscall 0 is where unknown "large" syscalls land, so it gets ENOSYS too.

// A tiny forward-only assembler: jumps name labels, resolved once the stub is laid out.
class Stub {
 public:
  static constexpr int kNext = -1;

  int label() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void bind(int label) { labels_[label] = static_cast<int>(code_.size()); }
  void load(uint32_t offset) { emit(BPF_LD | BPF_W | BPF_ABS, offset, kNext, kNext); }
  void ret(uint32_t value) { emit(BPF_RET | BPF_K, value, kNext, kNext); }
  void jump(int target) { emit(BPF_JMP | BPF_JA, 0, target, kNext); }
  void branch(uint16_t op, uint32_t k, int jt, int jf) { emit(BPF_JMP | op | BPF_K, k, jt, jf); }

  // Resolves every label; false when a conditional jump is longer than 255 instructions.
  bool finish(std::vector<sock_filter>& out) {
    out.clear();
    for (size_t i = 0; i < code_.size(); i++) {
      const Insn& insn = code_[i];
      sock_filter f = {insn.code, 0, 0, insn.k};
      if (BPF_CLASS(insn.code) == BPF_JMP) {
        if (BPF_OP(insn.code) == BPF_JA) {
          f.k = static_cast<uint32_t>(offset(insn.jt, i));
        } else {
          int jt = offset(insn.jt, i), jf = offset(insn.jf, i);
          if (jt < 0 || jt > 255 || jf < 0 || jf > 255) return false;
          f.jt = static_cast<uint8_t>(jt);
          f.jf = static_cast<uint8_t>(jf);
        }
      }
      out.push_back(f);
    }
    return true;
  }

 private:
  struct Insn {
    uint16_t code;
    uint32_t k;
    int jt, jf;
  };
  std::vector<Insn> code_;
  std::vector<int> labels_;

  void emit(uint16_t code, uint32_t k, int jt, int jf) { code_.push_back({code, k, jt, jf}); }
  int offset(int label, size_t from) const { return label == kNext ? 0 : labels_[label] - static_cast<int>(from) - 1; }
};

struct ArchGroup {
  uint32_t audit;          // the AUDIT_ARCH_* value seccomp_data.arch carries
  int64_t highest = -1;    // highest syscall of the profile for the plain ABI
  int64_t highestX32 = -1; // x86_64 only: the same for x32 (numbers include the x32 bit)
};

std::vector<ArchGroup> stubGroups(const json::Value& plan) {
  std::vector<ArchGroup> groups;
  const json::Value& rules = plan["rules"];
  const json::Value& arches = plan["architectures"];
  std::vector<uint32_t> seen;
  for (size_t i = 0; i < arches.size(); i++) {
    uint32_t arch = resolveArch(arches.at(i).str());
    bool dup = false;
    for (uint32_t s : seen) dup = dup || s == arch;
    if (dup || arch == 0) continue;
    seen.push_back(arch);
    int64_t highest = 0;
    for (size_t r = 0; r < rules.size(); r++) {
      const json::Value& names = rules.at(r)["names"];
      for (size_t j = 0; j < names.size(); j++) {
        int nr = seccomp_syscall_resolve_name_arch(arch, names.at(j).text.c_str());
        if (nr > highest) highest = nr;  // negative: unknown, or a pseudo-syscall on this arch
      }
    }
    if (highest == 0) continue;  // nothing of the profile exists there: no stub for it
    bool x32 = arch == SCMP_ARCH_X32;
    uint32_t audit = x32 ? SCMP_ARCH_X86_64 : arch;
    ArchGroup* group = nullptr;
    for (auto& g : groups)
      if (g.audit == audit) group = &g;
    if (!group) {
      groups.push_back({audit});
      group = &groups.back();
    }
    (x32 ? group->highestX32 : group->highest) = highest;
  }
  return groups;
}

std::vector<sock_filter> enosysStub(const json::Value& plan) {
  std::vector<sock_filter> out;
  if (!plan["enosysStub"].flag()) return out;
  std::vector<ArchGroup> groups = stubGroups(plan);
  if (groups.empty()) return out;

  Stub s;
  const int enosys = s.label(), filter = s.label();
  std::vector<int> sections;
  s.load(offsetof(struct seccomp_data, arch));
  for (size_t i = 0; i < groups.size(); i++) {
    sections.push_back(s.label());
    s.branch(BPF_JEQ, groups[i].audit, sections.back(), Stub::kNext);
  }
  s.jump(filter);
  for (size_t i = 0; i < groups.size(); i++) {
    const ArchGroup& g = groups[i];
    s.bind(sections[i]);
    s.load(offsetof(struct seccomp_data, nr));
    if (g.audit == AUDIT_ARCH_S390 || g.audit == AUDIT_ARCH_S390X) s.branch(BPF_JEQ, 0, enosys, Stub::kNext);
    if (g.audit == AUDIT_ARCH_X86_64) {
      const int plain = s.label(), x32 = s.label();
      // x32 calls carry the x32 bit; an ABI the profile does not list goes straight to the filter.
      s.branch(BPF_JSET, kX32SyscallBit, g.highestX32 >= 0 ? x32 : filter, g.highest >= 0 ? plain : filter);
      if (g.highest >= 0) {
        s.bind(plain);
        s.branch(BPF_JGT, static_cast<uint32_t>(g.highest), enosys, filter);
      }
      if (g.highestX32 >= 0) {
        s.bind(x32);
        s.branch(BPF_JGT, static_cast<uint32_t>(g.highestX32), enosys, filter);
      }
    } else {
      s.branch(BPF_JGT, static_cast<uint32_t>(g.highest), enosys, filter);
    }
  }
  s.bind(enosys);
  s.ret(SECCOMP_RET_ERRNO | ENOSYS);
  s.bind(filter);
  if (!s.finish(out)) channel::fail("seccomp: the -ENOSYS stub does not fit short jumps", 0);
  return out;
}

}  // namespace

int load(const json::Value& fullPlan) {
  const json::Value& plan = fullPlan["seccomp"];
  if (plan.isNull()) return -1;

  scmp_filter_ctx ctx = buildFilter(plan);
  std::vector<sock_filter> program = enosysStub(plan);
  std::vector<sock_filter> generated = exportProgram(ctx);
  seccomp_release(ctx);
  program.insert(program.end(), generated.begin(), generated.end());
  generated = std::vector<sock_filter>();
  // libseccomp's rule database is gone: give its pages back so the created init stays small.
  malloc_trim(0);
  unsigned flags = filterFlags(plan);

  struct sock_fprog prog = {};
  if (program.size() > BPF_MAXINSNS) channel::fail("seccomp: the filter has " + std::to_string(program.size()) + " instructions, more than the kernel's " + std::to_string(BPF_MAXINSNS), 0);
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = program.data();
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) channel::fail("seccomp: load the filter", errno);
  return (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? static_cast<int>(rc) : -1;
}

void passListener(int fd) {
  if (fd < 0) return;
  if (!channel::send(protocol::kSeccompListener) || !channel::sendFd(fd)) channel::fail("seccomp: send the listener fd to the runtime", errno);
  channel::expect(protocol::kSeccompListenerSent);
  close(fd);
}

std::string linkedVersion() {
  const struct scmp_version* v = seccomp_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

}  // namespace seccomp
