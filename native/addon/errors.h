#pragma once
#include <napi.h>

#include <cstring>
#include <string>

// Throws a JavaScript Error "what: strerror(err)" carrying `errno`, and returns undefined so
// a binding can `return throwErrno(...)`.
inline Napi::Value throwErrno(Napi::Env env, const std::string& what, int err) {
  Napi::Error error = Napi::Error::New(env, what + ": " + strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}
