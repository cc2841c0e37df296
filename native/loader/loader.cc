// runts_loader.node: the entry's addon (src/cli/entry.ts). compileBundle compiles a bundle with its
// V8 code cache for src/base/codeCache.ts in one call; exitNow ends the process at once.
//
// Through Node, loading a bundle cost every command the first call of each fs function, the
// UTF-8 decoding of the whole source into a V8 string, and Node's vm module (loaded, then its
// Script constructor compiled and run). Here the source, already wrapped as a CommonJS function,
// becomes an external Latin-1 string over a buffer read once (the build keeps bundles ASCII),
// the cache is read straight from a mapping of its file, and V8's own API compiles the two.
//
// It speaks V8's API, not N-API, so it is built for the node that builds it (node-gyp): a node of
// another ABI refuses to load it, and codeCache.ts then compiles through Node's vm, as it does
// for a file this loader will not take.
#include <node.h>
#include <node_buffer.h>
#include <v8.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

namespace {

// Node's CommonJS wrapper (Module.wrap), on the source's first line as codeCache.ts writes it.
constexpr char kWrapHead[] = "(function (exports, require, module, __filename, __dirname) { ";
constexpr char kWrapTail[] = "\n});";
constexpr char kShebangComment[] = "//";
constexpr size_t kMaxFileSize = size_t{1} << 30;

// A wrapped source in a mapping of its own, handed to V8 as an external string: V8 unmaps it
// when the string dies. Copied rather than mapped from the file, because a long `run` or `exec`
// may compile a function from it hours later, after an upgrade has rewritten the file.
class MappedSource : public v8::String::ExternalOneByteStringResource {
 public:
  MappedSource(char* data, size_t length, size_t mapped) : data_(data), length_(length), mapped_(mapped) {}
  ~MappedSource() override { munmap(data_, mapped_); }
  const char* data() const override { return data_; }
  size_t length() const override { return length_; }

 private:
  char* data_;
  size_t length_;
  size_t mapped_;
};

// Reads all of fd (of `size` bytes by fstat) into buf; false on a short or failed read.
bool ReadAll(int fd, char* buf, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool IsAscii(const char* s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (static_cast<unsigned char>(s[i]) > 0x7f) return false;
  return true;
}

// `file` wrapped as a CommonJS function (a shebang line becomes a comment), and its stat; null
// when it cannot be read whole, is empty or is not ASCII.
MappedSource* ReadWrapped(const char* file, struct stat* st) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  MappedSource* result = nullptr;
  if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_size > 0 && static_cast<size_t>(st->st_size) < kMaxFileSize) {
    size_t size = static_cast<size_t>(st->st_size);
    size_t head = sizeof kWrapHead - 1, tail = sizeof kWrapTail - 1, comment = sizeof kShebangComment - 1;
    size_t mapped = head + comment + size + tail;
    // Populated in one call rather than fault by fault.
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    char* buf = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
    char* body = buf ? buf + head + comment : nullptr;
    if (buf && ReadAll(fd, body, size) && IsAscii(body, size)) {
      size_t length;
      // The body moves up over the unused gap unless a shebang's comment fills it.
      if (size >= 2 && body[0] == '#' && body[1] == '!') {
        memcpy(buf + head, kShebangComment, comment);
        length = head + comment + size;
      } else {
        memmove(buf + head, body, size);
        length = head + size;
      }
      memcpy(buf, kWrapHead, head);
      memcpy(buf + length, kWrapTail, tail);
      result = new MappedSource(buf, length + tail, mapped);
    } else if (buf) {
      munmap(buf, mapped);
    }
  }
  close(fd);
  return result;
}

// A cache file, mapped for as long as V8 deserializes it: caches are only ever replaced by a
// rename (codeCache.ts), never rewritten in place.
class MappedCache {
 public:
  explicit MappedCache(const char* path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && static_cast<size_t>(st.st_size) < kMaxFileSize) {
      void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const uint8_t*>(p);
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    close(fd);
  }
  ~MappedCache() {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedCache(const MappedCache&) = delete;
  MappedCache& operator=(const MappedCache&) = delete;
  // Owned by the ScriptCompiler::Source it is given to; the bytes stay this mapping's.
  v8::ScriptCompiler::CachedData* NewCachedData() const {
    if (!data_) return nullptr;
    return new v8::ScriptCompiler::CachedData(data_, static_cast<int>(size_), v8::ScriptCompiler::CachedData::BufferNotOwned);
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// The compiled script behind one createCachedData function, released with that function.
struct CompiledScript {
  v8::Global<v8::UnboundScript> script;
  v8::Global<v8::Function> owner;
};

void ReleaseCompiledScript(const v8::WeakCallbackInfo<CompiledScript>& info) { delete info.GetParameter(); }

// createCachedData(): the script's code cache as it stands, a Buffer (vm.Script's method of the name).
void CreateCachedData(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  auto* compiled = static_cast<CompiledScript*>(info.Data().As<v8::External>()->Value());
  v8::ScriptCompiler::CachedData* data = v8::ScriptCompiler::CreateCodeCache(compiled->script.Get(isolate));
  if (!data) return;
  v8::Local<v8::Object> buffer;
  if (node::Buffer::Copy(isolate, reinterpret_cast<const char*>(data->data), data->length).ToLocal(&buffer))
    info.GetReturnValue().Set(buffer);
  delete data;
}

bool StringArg(v8::Isolate* isolate, v8::Local<v8::Value> value, char* out, size_t cap) {
  if (!value->IsString()) return false;
  v8::String::Utf8Value text(isolate, value);
  if (*text == nullptr || text.length() == 0 || static_cast<size_t>(text.length()) >= cap) return false;
  memcpy(out, *text, static_cast<size_t>(text.length()) + 1);
  return true;
}

void Set(v8::Local<v8::Context> context, v8::Local<v8::Object> object, const char* key, v8::Local<v8::Value> value) {
  v8::Isolate* isolate = context->GetIsolate();
  object->Set(context, v8::String::NewFromUtf8(isolate, key).ToLocalChecked(), value).Check();
}

// compileBundle(file, cacheDir, command): { wrapper, use, cacheFile, createCachedData } or null
// when the file cannot be read whole or is not ASCII (the caller then compiles it through Node,
// which reports why). `wrapper` is the file compiled as a CommonJS function; `cacheFile` is
// <cacheDir>/<basename>-<inode>-<size>-<mtime ns>-<command>.cache, which V8 was given if it
// exists; `use` says "used", "rejected" (another node, other flags) or "none". A syntax error
// throws, as vm.Script's does.
void CompileBundle(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  info.GetReturnValue().SetNull();
  char file[4096], cacheDir[4096], command[64];
  if (info.Length() != 3 || !StringArg(isolate, info[0], file, sizeof file) ||
      !StringArg(isolate, info[1], cacheDir, sizeof cacheDir) || !StringArg(isolate, info[2], command, sizeof command))
    return;

  struct stat st;
  MappedSource* mapped = ReadWrapped(file, &st);
  if (!mapped) return;
  v8::Local<v8::String> source;
  if (!v8::String::NewExternalOneByte(isolate, mapped).ToLocal(&source)) {
    delete mapped;
    return;
  }

  const char* base = strrchr(file, '/');
  base = base ? base + 1 : file;
  // The name codeCache.ts gives it: mtime in ns as one integer, as Node's mtimeNs prints.
  long long mtimeNs = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  char cacheFile[8192];
  int n = snprintf(cacheFile, sizeof cacheFile, "%s/%s-%llu-%lld-%lld-%s.cache", cacheDir, base,
                   static_cast<unsigned long long>(st.st_ino), static_cast<long long>(st.st_size), mtimeNs, command);
  if (n < 0 || static_cast<size_t>(n) >= sizeof cacheFile) return;

  MappedCache cache(cacheFile);
  v8::Local<v8::UnboundScript> script;
  const char* use;
  {
    v8::ScriptOrigin origin(isolate, info[0]);
    v8::ScriptCompiler::Source input(source, origin, cache.NewCachedData());
    bool withCache = input.GetCachedData() != nullptr;
    if (!v8::ScriptCompiler::CompileUnboundScript(isolate, &input, withCache ? v8::ScriptCompiler::kConsumeCodeCache : v8::ScriptCompiler::kNoCompileOptions)
             .ToLocal(&script))
      return;
    use = !withCache ? "none" : input.GetCachedData()->rejected ? "rejected" : "used";
  }
  v8::Local<v8::Value> wrapper;
  if (!script->BindToCurrentContext()->Run(context).ToLocal(&wrapper)) return;

  auto* compiled = new CompiledScript;
  v8::Local<v8::Function> createCachedData;
  if (!v8::Function::New(context, CreateCachedData, v8::External::New(isolate, compiled)).ToLocal(&createCachedData)) {
    delete compiled;
    return;
  }
  compiled->script.Reset(isolate, script);
  compiled->owner.Reset(isolate, createCachedData);
  compiled->owner.SetWeak(compiled, ReleaseCompiledScript, v8::WeakCallbackType::kParameter);

  v8::Local<v8::Object> out = v8::Object::New(isolate);
  Set(context, out, "wrapper", wrapper);
  Set(context, out, "use", v8::String::NewFromUtf8(isolate, use).ToLocalChecked());
  Set(context, out, "cacheFile", v8::String::NewFromUtf8(isolate, cacheFile).ToLocalChecked());
  Set(context, out, "createCachedData", createCachedData);
  info.GetReturnValue().Set(out);
}

// fds 0-2 as the process got them: their file status flags, and the terminal modes of those that
// are terminals. Recorded when the entry loads this addon, before any JS has touched them.
struct StdioState {
  int flags = -1;
  bool terminal = false;
  struct termios modes {};
};
StdioState startStdio[3];

StdioState ReadStdio(int fd) {
  StdioState state;
  state.flags = fcntl(fd, F_GETFL);
  state.terminal = state.flags >= 0 && tcgetattr(fd, &state.modes) == 0;
  return state;
}

bool SameStdio(const StdioState& a, const StdioState& b) {
  if (a.flags != b.flags || a.terminal != b.terminal) return false;
  return !a.terminal || (a.modes.c_iflag == b.modes.c_iflag && a.modes.c_oflag == b.modes.c_oflag &&
                         a.modes.c_cflag == b.modes.c_cflag && a.modes.c_lflag == b.modes.c_lflag &&
                         memcmp(a.modes.c_cc, b.modes.c_cc, sizeof a.modes.c_cc) == 0);
}

// exitNow(status): ends the process with `status` through _exit(2), skipping what exit(3) does
// after process.exit: Node stopping its platform's threads, OpenSSL's cleanup and the static
// destructors, ~0.7 ms of every command, with nothing for them to do. Node's atexit work that
// matters is putting fds 0-2 back as it found them (a stream sets O_NONBLOCK, a terminal may be
// left raw): where any of them has changed, it returns false and process.exit must end the process.
void ExitNow(const v8::FunctionCallbackInfo<v8::Value>& info) {
  if (info.Length() != 1 || !info[0]->IsInt32()) {
    info.GetReturnValue().Set(false);
    return;
  }
  for (int fd = 0; fd < 3; fd++) {
    if (!SameStdio(startStdio[fd], ReadStdio(fd))) {
      info.GetReturnValue().Set(false);
      return;
    }
  }
  _exit(info[0].As<v8::Int32>()->Value());
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  static bool recorded = false;  // a second load (a test) is not the process's start
  if (!recorded) {
    for (int fd = 0; fd < 3; fd++) startStdio[fd] = ReadStdio(fd);
    recorded = true;
  }
  v8::Isolate* isolate = context->GetIsolate();
  v8::Local<v8::Object> target = exports.As<v8::Object>();
  target->Set(context, v8::String::NewFromUtf8Literal(isolate, "compileBundle"), v8::Function::New(context, CompileBundle).ToLocalChecked()).Check();
  target->Set(context, v8::String::NewFromUtf8Literal(isolate, "exitNow"), v8::Function::New(context, ExitNow).ToLocalChecked()).Check();
}
