// runts_loader.node: the entry's addon (src/cli/entry.ts). compileBundle compiles a bundle with its
// V8 code cache for src/base/codeCache.ts in one call; prefetchBundles deserializes the caches of
// bundles about to be compiled on a thread of its own; exitNow ends the process at once.
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
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
        dev_ = st.st_dev;
        ino_ = st.st_ino;
      }
    }
    close(fd);
  }
  ~MappedCache() {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedCache(const MappedCache&) = delete;
  MappedCache& operator=(const MappedCache&) = delete;
  // Whether this is a mapping of the file `st` describes.
  bool Is(const struct stat& st) const { return data_ && st.st_dev == dev_ && st.st_ino == ino_; }
  // Owned by the ScriptCompiler::Source it is given to; the bytes stay this mapping's.
  v8::ScriptCompiler::CachedData* NewCachedData() const {
    if (!data_) return nullptr;
    return new v8::ScriptCompiler::CachedData(data_, static_cast<int>(size_), v8::ScriptCompiler::CachedData::BufferNotOwned);
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
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

// <cacheDir>/<basename>-<inode>-<size>-<mtime ns>-<command>.cache, the name codeCache.ts gives
// the cache of `file` as `st` finds it (mtime as one integer, as Node's mtimeNs prints); "" when
// too long.
std::string CacheFileName(const char* file, const struct stat& st, const char* cacheDir, const char* command) {
  const char* base = strrchr(file, '/');
  base = base ? base + 1 : file;
  long long mtimeNs = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  char name[8192];
  int n = snprintf(name, sizeof name, "%s/%s-%llu-%lld-%lld-%s.cache", cacheDir, base, static_cast<unsigned long long>(st.st_ino),
                   static_cast<long long>(st.st_size), mtimeNs, command);
  return n < 0 || static_cast<size_t>(n) >= sizeof name ? std::string() : std::string(name);
}

// Whether `a` and `b` are the same file, unchanged (what a cache's name says of its bundle).
bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// One bundle's cache, deserialized by the prefetch thread for compileBundle to finish.
struct Prefetch {
  struct stat bundle {};
  std::string command;
  std::unique_ptr<MappedCache> cache;  // read by the task: mapped until the compile is done
  std::unique_ptr<v8::ScriptCompiler::ConsumeCodeCacheTask> task;
  std::atomic<bool> done{false};  // set by the prefetch thread, under Prefetcher::mutex
};

// The thread that runs the prefetched tasks in order, and its jobs. One per process (the entry
// prefetches once), touched by the isolate's thread and that thread only.
struct Prefetcher {
  v8::Isolate* isolate = nullptr;
  std::vector<std::unique_ptr<Prefetch>> jobs;
  std::mutex mutex;
  std::condition_variable doneChanged;
  pthread_t thread;
  bool running = false;
  bool spin = false;  // the process may run on two CPUs or more: waiting spins before it sleeps
};
// Never destroyed: a process that exits without endPrefetch (an exception, a process.exit elsewhere)
// must not have the jobs freed under a thread still deserializing.
Prefetcher& prefetcher = *new Prefetcher;

void* RunPrefetches(void*) {
  for (size_t i = 0;; i++) {
    Prefetch* job;
    {
      std::lock_guard<std::mutex> lock(prefetcher.mutex);
      if (i >= prefetcher.jobs.size()) return nullptr;
      job = prefetcher.jobs[i].get();
    }
    job->task->Run();
    std::lock_guard<std::mutex> lock(prefetcher.mutex);
    job->done = true;
    prefetcher.doneChanged.notify_all();
  }
}

// Waits for the prefetch thread to finish and drops what was never compiled: before the isolate
// goes (an environment cleanup hook), or when the caller is done compiling (endPrefetch).
void EndPrefetches(void* = nullptr) {
  if (prefetcher.running) pthread_join(prefetcher.thread, nullptr);
  prefetcher.running = false;
  prefetcher.jobs.clear();
}

// Waits until the prefetch thread is done with `job`. The wait is ~1 ms at most: on a CPU of its
// own, spinning spares the wake-up of a sleeping thread (~0.1 ms on a VM's vCPU).
void AwaitPrefetch(const Prefetch& job, std::unique_lock<std::mutex>& lock) {
  if (prefetcher.spin && !job.done) {
    lock.unlock();
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned i = 1; !job.done.load(std::memory_order_acquire); i++) {
      __builtin_ia32_pause();
      if (i % 1024 == 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) > 2000000L) break;
      }
    }
    lock.lock();
  }
  prefetcher.doneChanged.wait(lock, [&job] { return job.done.load(); });
}

// The prefetched deserialization of `bundle`'s cache for `command`, once done, if it read the very
// cache file compileBundle would read now (`cacheFile`); null otherwise (none, another isolate's,
// another command's, or the file replaced since).
std::unique_ptr<Prefetch> TakePrefetch(v8::Isolate* isolate, const struct stat& bundle, const char* command, const std::string& cacheFile) {
  if (isolate != prefetcher.isolate) return nullptr;
  std::unique_lock<std::mutex> lock(prefetcher.mutex);
  for (auto& slot : prefetcher.jobs) {
    if (!SameFile(slot->bundle, bundle) || slot->command != command) continue;
    AwaitPrefetch(*slot, lock);
    std::unique_ptr<Prefetch> job = std::move(slot);
    slot = std::make_unique<Prefetch>();  // the thread indexes the list: it keeps its length
    slot->done = true;
    struct stat st;
    if (stat(cacheFile.c_str(), &st) != 0 || !job->cache->Is(st)) return nullptr;
    return job;
  }
  return nullptr;
}

bool MaySpin() {
  cpu_set_t cpus;
  return sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 1;
}

// prefetchBundles(files, cacheDir, command): starts deserializing, on a thread of its own and in
// order, the code cache compileBundle(file, cacheDir, command) would read for each of `files`
// that has one; compileBundle then waits for it and finishes it. How many were started (0 when
// none has a cache, when a prefetch was made before, or when no thread can be made).
void PrefetchBundles(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  info.GetReturnValue().Set(0);
  char cacheDir[4096], command[64];
  if (info.Length() != 3 || !info[0]->IsArray() || !StringArg(isolate, info[1], cacheDir, sizeof cacheDir) ||
      !StringArg(isolate, info[2], command, sizeof command) || prefetcher.isolate != nullptr)
    return;
  prefetcher.isolate = isolate;
  prefetcher.spin = MaySpin();
  node::AddEnvironmentCleanupHook(isolate, EndPrefetches, nullptr);
  v8::Local<v8::Array> files = info[0].As<v8::Array>();
  for (uint32_t i = 0; i < files->Length(); i++) {
    char file[4096];
    v8::Local<v8::Value> item;
    auto job = std::make_unique<Prefetch>();
    if (!files->Get(context, i).ToLocal(&item) || !StringArg(isolate, item, file, sizeof file) || stat(file, &job->bundle) != 0) continue;
    std::string cacheFile = CacheFileName(file, job->bundle, cacheDir, command);
    if (cacheFile.empty()) continue;
    job->command = command;
    job->cache = std::make_unique<MappedCache>(cacheFile.c_str());
    v8::ScriptCompiler::CachedData* data = job->cache->NewCachedData();
    if (!data) continue;
    job->task.reset(v8::ScriptCompiler::StartConsumingCodeCache(isolate, std::unique_ptr<v8::ScriptCompiler::CachedData>(data)));
    prefetcher.jobs.push_back(std::move(job));
  }
  if (prefetcher.jobs.empty()) return;
  // The thread starts with every signal blocked: they stay the main thread's, where Node handles them.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &before);
  prefetcher.running = pthread_create(&prefetcher.thread, nullptr, RunPrefetches, nullptr) == 0;
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (!prefetcher.running) prefetcher.jobs.clear();
  info.GetReturnValue().Set(static_cast<uint32_t>(prefetcher.jobs.size()));
}

// endPrefetch(): waits for the prefetch thread, dropping what was never compiled: a process that
// exits with a deserialization still running could have V8 torn down under it.
void EndPrefetch(const v8::FunctionCallbackInfo<v8::Value>& info) {
  if (info.GetIsolate() == prefetcher.isolate) EndPrefetches();
}

// compileBundle(file, cacheDir, command): { wrapper, use, cacheFile, createCachedData } or null
// when the file cannot be read whole or is not ASCII (the caller then compiles it through Node,
// which reports why). `wrapper` is the file compiled as a CommonJS function; `cacheFile` is
// <cacheDir>/<basename>-<inode>-<size>-<mtime ns>-<command>.cache, which V8 was given if it
// exists; `use` says "used", "rejected" (another node, other flags) or "none"; `prefetched` says
// whether prefetchBundles had deserialized it. A syntax error throws, as vm.Script's does.
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

  std::string cacheFile = CacheFileName(file, st, cacheDir, command);
  if (cacheFile.empty()) return;

  std::unique_ptr<Prefetch> prefetched = TakePrefetch(isolate, st, command, cacheFile);
  std::unique_ptr<MappedCache> ownCache;
  const MappedCache* cache = prefetched ? prefetched->cache.get() : (ownCache = std::make_unique<MappedCache>(cacheFile.c_str())).get();
  v8::Local<v8::UnboundScript> script;
  const char* use;
  {
    v8::ScriptOrigin origin(isolate, info[0]);
    // The Source owns the task; V8 finishes what the prefetch thread deserialized.
    v8::ScriptCompiler::Source input(source, origin, cache->NewCachedData(), prefetched ? prefetched->task.release() : nullptr);
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
  Set(context, out, "cacheFile", v8::String::NewFromUtf8(isolate, cacheFile.c_str()).ToLocalChecked());
  Set(context, out, "createCachedData", createCachedData);
  Set(context, out, "prefetched", v8::Boolean::New(isolate, prefetched != nullptr));
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
  target->Set(context, v8::String::NewFromUtf8Literal(isolate, "prefetchBundles"), v8::Function::New(context, PrefetchBundles).ToLocalChecked()).Check();
  target->Set(context, v8::String::NewFromUtf8Literal(isolate, "endPrefetch"), v8::Function::New(context, EndPrefetch).ToLocalChecked()).Check();
  target->Set(context, v8::String::NewFromUtf8Literal(isolate, "exitNow"), v8::Function::New(context, ExitNow).ToLocalChecked()).Check();
}
