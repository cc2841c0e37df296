#pragma once
#include <napi.h>

#include <cstring>
#include <string>

// Throws a JavaScript Error "what: strerror(err)" carrying `errno` and, as Node's own errors
// do, its name as `code` ("ENOENT"), and returns undefined so a binding can `return throwErrno(...)`.
inline Napi::Value throwErrno(Napi::Env env, const std::string& what, int err) {
  Napi::Error error = Napi::Error::New(env, what + ": " + strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  if (const char* name = strerrorname_np(err)) error.Set("code", Napi::String::New(env, name));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}
