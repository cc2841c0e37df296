// runts_loader.node: reads a bundle and its V8 code cache for src/base/codeCache.ts in one call.
//
// Through Node's fs, a cold command spent ~1.3 ms reading cold.js (350 KB) and its cache: the
// first call of each fs function, and decoding the source as UTF-8 into a V8 string. Here the
// source, already wrapped as a CommonJS function, becomes an external Latin-1 string over a
// buffer read once (the build keeps bundles ASCII), and the cache an external Buffer over a
// mapping of the file. Plain C and libc only, so that loading it costs little (~0.1 ms).
#define NAPI_EXPERIMENTAL
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Node's CommonJS wrapper (Module.wrap), on the source's first line as codeCache.ts writes it.
static const char WRAP_HEAD[] = "(function (exports, require, module, __filename, __dirname) { ";
static const char WRAP_TAIL[] = "\n});";
static const char SHEBANG_COMMENT[] = "//";

// The source's buffer is a mapping of its own, populated in one call rather than fault by fault.
static char* map_memory(size_t size) {
  void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return p == MAP_FAILED ? NULL : (char*)p;
}

static void unmap_memory(node_api_basic_env env, void* data, void* hint) {
  (void)env;
  munmap(data, (size_t)hint);
}

// Reads all of fd (of `size` bytes by fstat) into buf at offset; false on a short or failed read.
static int read_all(int fd, char* buf, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    done += (size_t)n;
  }
  return 1;
}

static int is_ascii(const char* s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] > 0x7f) return 0;
  return 1;
}

static int get_string(napi_env env, napi_value value, char* out, size_t cap) {
  size_t len = 0;
  return napi_get_value_string_utf8(env, value, out, cap, &len) == napi_ok && len > 0 && len < cap - 1;
}

// readBundle(file, cacheDir, command): { source, cacheFile, cache? } or null when the file cannot
// be read whole or is not ASCII (the caller then reads it through Node, which reports why).
// `source` is the file wrapped as a CommonJS function; `cacheFile` is
// <cacheDir>/<basename>-<inode>-<size>-<mtime ns>-<command>.cache, `cache` its bytes if present.
static napi_value ReadBundle(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_value result = NULL;
  napi_get_null(env, &result);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return result;
  char file[4096], cacheDir[4096], command[64];
  if (!get_string(env, argv[0], file, sizeof file) || !get_string(env, argv[1], cacheDir, sizeof cacheDir) ||
      !get_string(env, argv[2], command, sizeof command))
    return result;

  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return result;
  struct stat st;
  char* source = NULL;
  size_t length = 0, mapped = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < (1 << 30)) {
    size_t size = (size_t)st.st_size;
    size_t head = sizeof WRAP_HEAD - 1, tail = sizeof WRAP_TAIL - 1, comment = sizeof SHEBANG_COMMENT - 1;
    mapped = head + comment + size + tail;
    source = map_memory(mapped);
    if (source && read_all(fd, source + head + comment, size) && is_ascii(source + head + comment, size)) {
      char* body = source + head + comment;
      // A shebang line becomes a comment; otherwise the body moves up over the unused gap.
      if (size >= 2 && body[0] == '#' && body[1] == '!') {
        memcpy(source + head, SHEBANG_COMMENT, comment);
        length = head + comment + size;
      } else {
        memmove(source + head, body, size);
        length = head + size;
      }
      memcpy(source, WRAP_HEAD, head);
      memcpy(source + length, WRAP_TAIL, tail);
      length += tail;
    } else if (source) {
      munmap(source, mapped);
      source = NULL;
    }
  }
  close(fd);
  if (!source) return result;

  napi_value js_source;
  bool copied = false;
  if (node_api_create_external_string_latin1(env, source, length, unmap_memory, (void*)mapped, &js_source, &copied) != napi_ok) {
    munmap(source, mapped);
    return result;
  }
  if (copied) munmap(source, mapped);

  const char* base = strrchr(file, '/');
  base = base ? base + 1 : file;
  // The name src/base/codeCache.ts gives it: mtime in ns as one integer, as Node's mtimeNs prints.
  long long mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  char cacheFile[8192];
  int n = snprintf(cacheFile, sizeof cacheFile, "%s/%s-%llu-%lld-%lld-%s.cache", cacheDir, base, (unsigned long long)st.st_ino,
                   (long long)st.st_size, mtime_ns, command);
  if (n < 0 || (size_t)n >= sizeof cacheFile) return result;

  napi_value out, js_cache_file;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "source", js_source);
  napi_create_string_utf8(env, cacheFile, NAPI_AUTO_LENGTH, &js_cache_file);
  napi_set_named_property(env, out, "cacheFile", js_cache_file);

  int cfd = open(cacheFile, O_RDONLY | O_CLOEXEC);
  if (cfd >= 0) {
    struct stat cst;
    if (fstat(cfd, &cst) == 0 && S_ISREG(cst.st_mode) && cst.st_size > 0 && cst.st_size < (1 << 30)) {
      // Mapped, not copied: V8 reads the cache once, while it deserializes, and caches are only
      // ever replaced by a rename (codeCache.ts), never rewritten in place.
      size_t size = (size_t)cst.st_size;
      void* mapping = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, cfd, 0);
      char* data = mapping == MAP_FAILED ? NULL : (char*)mapping;
      napi_value js_cache;
      if (data &&
          napi_create_external_buffer(env, size, data, unmap_memory, (void*)size, &js_cache) == napi_ok) {
        napi_set_named_property(env, out, "cache", js_cache);
      } else if (data) {
        munmap(data, size);
      }
    }
    close(cfd);
  }
  return out;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "readBundle", NAPI_AUTO_LENGTH, ReadBundle, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "readBundle", fn);
  return exports;
}
