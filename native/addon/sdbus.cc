// runts_sdbus.node: D-Bus method calls to systemd through libsystemd's sd-bus, for the systemd
// cgroup driver. A separate addon so that only that driver loads libsystemd: runts.node (the
// hot path) stays free of it. The TypeScript decides every unit name, property and type; this
// file only marshals values by their D-Bus signature, makes the call and waits for jobs.
#include <napi.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>

namespace {

sd_bus* bus = nullptr;
// systemd's JobRemoved signals seen so far: job object path → result ("done", "failed" …).
std::map<std::string, std::string> finishedJobs;

int OnJobRemoved(sd_bus_message* m, void*, sd_bus_error*) {
  uint32_t id;
  const char *job, *unit, *result;
  if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0) finishedJobs[job] = result;
  return 0;
}

Napi::Value ThrowBus(Napi::Env env, const std::string& what, int r, const sd_bus_error* error = nullptr) {
  std::string message = what + ": ";
  if (error && sd_bus_error_is_set(error)) message += error->message ? error->message : error->name;
  else message += strerror(-r);
  Napi::Error e = Napi::Error::New(env, message);
  if (error && sd_bus_error_is_set(error)) e.Set("dbusName", Napi::String::New(env, error->name));
  e.Set("errno", Napi::Number::New(env, -r));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// Root talks to systemd directly on its private socket (as systemctl does); anyone else, or a
// host without it, goes through the system bus.
int Connect(std::string& how) {
  if (bus) return 0;
  sd_bus* b = nullptr;
  int r = -ENOENT;
  bool direct = geteuid() == 0 && access("/run/systemd/private", F_OK) == 0;
  if (direct) {
    how = "systemd's private socket /run/systemd/private";
    r = sd_bus_new(&b);
    if (r >= 0) r = sd_bus_set_address(b, "unix:path=/run/systemd/private");
    if (r >= 0) r = sd_bus_start(b);
    if (r < 0) b = sd_bus_unref(b);
  }
  if (r < 0) {
    direct = false;
    how = "the system bus";
    r = sd_bus_open_system(&b);
    if (r < 0) return r;
  }
  // On a direct connection messages carry no sender: match on the path and interface alone.
  r = sd_bus_match_signal(b, nullptr, direct ? nullptr : "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                          "org.freedesktop.systemd1.Manager", "JobRemoved", OnJobRemoved, nullptr);
  if (r < 0) {
    sd_bus_unref(b);
    return r;
  }
  bus = b;
  return 0;
}

// Length of the single complete type starting at sig[pos].
size_t TypeLength(const std::string& sig, size_t pos) {
  if (pos >= sig.size()) return 0;
  char c = sig[pos];
  if (c == 'a') return 1 + TypeLength(sig, pos + 1);
  if (c == '(' || c == '{') {
    char close = c == '(' ? ')' : '}';
    size_t i = pos + 1;
    while (i < sig.size() && sig[i] != close) {
      size_t n = TypeLength(sig, i);
      if (n == 0) return 0;
      i += n;
    }
    return i < sig.size() ? i - pos + 1 : 0;
  }
  return 1;
}

uint64_t ToU64(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
}

int64_t ToI64(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  return v.As<Napi::Number>().Int64Value();
}

// Appends `value` as the complete type `type`; returns an sd-bus error code or 0. `bad` names
// what did not fit the signature.
int Append(sd_bus_message* m, const std::string& type, const Napi::Value& value, std::string& bad) {
  char c = type[0];
  switch (c) {
    case 'b': {
      int b = value.ToBoolean().Value() ? 1 : 0;
      return sd_bus_message_append_basic(m, 'b', &b);
    }
    case 'y': {
      uint8_t x = static_cast<uint8_t>(value.ToNumber().Uint32Value());
      return sd_bus_message_append_basic(m, 'y', &x);
    }
    case 'n': {
      int16_t x = static_cast<int16_t>(value.ToNumber().Int32Value());
      return sd_bus_message_append_basic(m, 'n', &x);
    }
    case 'q': {
      uint16_t x = static_cast<uint16_t>(value.ToNumber().Uint32Value());
      return sd_bus_message_append_basic(m, 'q', &x);
    }
    case 'i': {
      int32_t x = value.ToNumber().Int32Value();
      return sd_bus_message_append_basic(m, 'i', &x);
    }
    case 'u': {
      uint32_t x = value.ToNumber().Uint32Value();
      return sd_bus_message_append_basic(m, 'u', &x);
    }
    case 'x': {
      if (!value.IsBigInt() && !value.IsNumber()) break;
      int64_t x = ToI64(value);
      return sd_bus_message_append_basic(m, 'x', &x);
    }
    case 't': {
      if (!value.IsBigInt() && !value.IsNumber()) break;
      uint64_t x = ToU64(value);
      return sd_bus_message_append_basic(m, 't', &x);
    }
    case 'd': {
      double x = value.ToNumber().DoubleValue();
      return sd_bus_message_append_basic(m, 'd', &x);
    }
    case 's':
    case 'o':
    case 'g': {
      if (!value.IsString()) break;
      std::string s = value.As<Napi::String>();
      return sd_bus_message_append_basic(m, c, s.c_str());
    }
    case 'v': {
      if (!value.IsObject()) break;
      Napi::Object o = value.As<Napi::Object>();
      Napi::Value inner = o.Get("type");
      if (!inner.IsString()) break;
      std::string t = inner.As<Napi::String>();
      if (TypeLength(t, 0) != t.size()) break;
      int r = sd_bus_message_open_container(m, 'v', t.c_str());
      if (r >= 0) r = Append(m, t, o.Get("value"), bad);
      if (r >= 0) r = sd_bus_message_close_container(m);
      return r;
    }
    case 'a': {
      if (!value.IsArray()) break;
      std::string element = type.substr(1, TypeLength(type, 1));
      Napi::Array items = value.As<Napi::Array>();
      int r = sd_bus_message_open_container(m, 'a', element.c_str());
      for (uint32_t i = 0; r >= 0 && i < items.Length(); i++) r = Append(m, element, items.Get(i), bad);
      if (r >= 0) r = sd_bus_message_close_container(m);
      return r;
    }
    case '(':
    case '{': {
      if (!value.IsArray()) break;
      std::string contents = type.substr(1, type.size() - 2);
      Napi::Array members = value.As<Napi::Array>();
      int r = sd_bus_message_open_container(m, c == '(' ? 'r' : 'e', contents.c_str());
      uint32_t i = 0;
      for (size_t pos = 0; r >= 0 && pos < contents.size(); i++) {
        size_t n = TypeLength(contents, pos);
        if (i >= members.Length()) {
          bad = "a member of " + type;
          return -EINVAL;
        }
        r = Append(m, contents.substr(pos, n), members.Get(i), bad);
        pos += n;
      }
      if (r >= 0) r = sd_bus_message_close_container(m);
      return r;
    }
  }
  if (bad.empty()) bad = "a value of type " + type;
  return -EINVAL;
}

// Reads the next complete value of a reply.
int Read(Napi::Env env, sd_bus_message* m, Napi::Value& out) {
  char type;
  const char* contents;
  int r = sd_bus_message_peek_type(m, &type, &contents);
  if (r <= 0) return r < 0 ? r : -EBADMSG;
  switch (type) {
    case 'a':
    case 'r':
    case 'e':
    case 'v': {
      r = sd_bus_message_enter_container(m, type, contents);
      if (r < 0) return r;
      if (type == 'v') {
        Napi::Value inner;
        r = Read(env, m, inner);
        if (r < 0) return r;
        Napi::Object o = Napi::Object::New(env);
        o.Set("type", Napi::String::New(env, contents));
        o.Set("value", inner);
        out = o;
      } else {
        Napi::Array items = Napi::Array::New(env);
        uint32_t i = 0;
        while ((r = sd_bus_message_at_end(m, 0)) == 0) {
          Napi::Value item;
          r = Read(env, m, item);
          if (r < 0) return r;
          items.Set(i++, item);
        }
        if (r < 0) return r;
        out = items;
      }
      return sd_bus_message_exit_container(m);
    }
    case 's':
    case 'o':
    case 'g': {
      const char* s;
      r = sd_bus_message_read_basic(m, type, &s);
      if (r >= 0) out = Napi::String::New(env, s);
      return r;
    }
    case 'b': {
      int b;
      r = sd_bus_message_read_basic(m, type, &b);
      if (r >= 0) out = Napi::Boolean::New(env, b != 0);
      return r;
    }
    case 'x':
    case 't': {
      uint64_t x;
      r = sd_bus_message_read_basic(m, type, &x);
      if (r >= 0) out = type == 't' ? Napi::BigInt::New(env, x) : Napi::BigInt::New(env, static_cast<int64_t>(x));
      return r;
    }
    case 'd': {
      double x;
      r = sd_bus_message_read_basic(m, type, &x);
      if (r >= 0) out = Napi::Number::New(env, x);
      return r;
    }
    case 'y': {
      uint8_t x;
      r = sd_bus_message_read_basic(m, type, &x);
      if (r >= 0) out = Napi::Number::New(env, x);
      return r;
    }
    case 'n': {
      int16_t x;
      r = sd_bus_message_read_basic(m, type, &x);
      if (r >= 0) out = Napi::Number::New(env, x);
      return r;
    }
    case 'q': {
      uint16_t x;
      r = sd_bus_message_read_basic(m, type, &x);
      if (r >= 0) out = Napi::Number::New(env, x);
      return r;
    }
    case 'i':
    case 'h': {
      int32_t x;
      r = sd_bus_message_read_basic(m, type, &x);
      if (r >= 0) out = Napi::Number::New(env, x);
      return r;
    }
    case 'u': {
      uint32_t x;
      r = sd_bus_message_read_basic(m, type, &x);
      if (r >= 0) out = Napi::Number::New(env, x);
      return r;
    }
  }
  return -EBADMSG;
}

// connect(): how the connection was made ("systemd's private socket …" / "the system bus").
Napi::Value ConnectJs(const Napi::CallbackInfo& info) {
  static std::string how;
  int r = Connect(how);
  if (r < 0) return ThrowBus(info.Env(), "connect to systemd over D-Bus", r);
  return Napi::String::New(info.Env(), how);
}

// call(destination, path, interface, member, signature, args, timeoutMs): the reply's values.
Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string destination = info[0].As<Napi::String>(), path = info[1].As<Napi::String>(),
              interface = info[2].As<Napi::String>(), member = info[3].As<Napi::String>(),
              signature = info[4].As<Napi::String>();
  Napi::Array args = info[5].As<Napi::Array>();
  uint64_t timeoutUsec = static_cast<uint64_t>(info[6].As<Napi::Number>().Int64Value()) * 1000;
  std::string how;
  int r = Connect(how);
  if (r < 0) return ThrowBus(env, "connect to systemd over D-Bus", r);
  sd_bus_message *m = nullptr, *reply = nullptr;
  r = sd_bus_message_new_method_call(bus, &m, destination.c_str(), path.c_str(), interface.c_str(), member.c_str());
  if (r < 0) return ThrowBus(env, member, r);
  std::string bad;
  uint32_t i = 0;
  for (size_t pos = 0; r >= 0 && pos < signature.size(); i++) {
    size_t n = TypeLength(signature, pos);
    if (n == 0 || i >= args.Length()) {
      bad = "the arguments for signature " + signature;
      r = -EINVAL;
      break;
    }
    r = Append(m, signature.substr(pos, n), args.Get(i), bad);
    pos += n;
  }
  if (r < 0) {
    sd_bus_message_unref(m);
    if (!bad.empty()) {
      Napi::TypeError::New(env, member + ": cannot marshal " + bad).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return ThrowBus(env, member, r);
  }
  sd_bus_error error = SD_BUS_ERROR_NULL;
  r = sd_bus_call(bus, m, timeoutUsec, &error, &reply);
  sd_bus_message_unref(m);
  if (r < 0) {
    Napi::Value thrown = ThrowBus(env, member, r, &error);
    sd_bus_error_free(&error);
    return thrown;
  }
  Napi::Array out = Napi::Array::New(env);
  i = 0;
  while ((r = sd_bus_message_at_end(reply, 1)) == 0) {
    Napi::Value v;
    r = Read(env, reply, v);
    if (r < 0) break;
    out.Set(i++, v);
  }
  sd_bus_message_unref(reply);
  if (r < 0) return ThrowBus(env, member + " reply", r);
  return out;
}

// waitJob(jobPath, timeoutMs): the job's result once systemd reports it removed, or null when
// it did not within the time.
Napi::Value WaitJob(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string job = info[0].As<Napi::String>();
  int64_t timeoutMs = info[1].As<Napi::Number>().Int64Value();
  if (!bus) return env.Null();
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t deadline = now.tv_sec * 1000000LL + now.tv_nsec / 1000 + timeoutMs * 1000;
  for (;;) {
    auto found = finishedJobs.find(job);
    if (found != finishedJobs.end()) {
      std::string result = found->second;
      finishedJobs.erase(found);
      return Napi::String::New(env, result);
    }
    int r = sd_bus_process(bus, nullptr);
    if (r < 0) return ThrowBus(env, "wait for systemd job " + job, r);
    if (r > 0) continue;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left = deadline - (now.tv_sec * 1000000LL + now.tv_nsec / 1000);
    if (left <= 0) return env.Null();
    r = sd_bus_wait(bus, static_cast<uint64_t>(left));
    if (r < 0 && r != -EINTR) return ThrowBus(env, "wait for systemd job " + job, r);
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("connect", Napi::Function::New(env, ConnectJs));
  exports.Set("call", Napi::Function::New(env, Call));
  exports.Set("waitJob", Napi::Function::New(env, WaitJob));
  return exports;
}

}  // namespace

NODE_API_MODULE(runts_sdbus, Init)
