// A small JSON reader for the plan the runtime sends. Only what the plan needs: no streaming,
// no unicode escapes beyond \uXXXX → UTF-8.
//
// The plan boundary fails closed: a key that is absent, or a value of the wrong type, fails the
// init naming it (a renamed field must never quietly turn a protection off). Keys whose value may
// be null are present with null; test isNull() before reading them.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace json {

enum class Kind { Null, Bool, Number, String, Array, Object };

class Value {
 public:
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;  // string contents, or the literal digits of a number
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;
  std::string path;  // where in the document: "process.user.uid", "mounts[2]"

  // The member `key` of an object; fails when this is not an object or has no such key.
  const Value& operator[](const char* key) const;
  const Value& at(size_t i) const { return items[i]; }
  size_t size() const;  // of an array (fails for anything else)
  bool isNull() const { return kind == Kind::Null; }
  bool has(const char* key) const;  // for messages, not the plan

  std::string str() const;
  bool flag() const;
  int64_t i64() const;
  uint64_t u64() const;  // also accepts decimal strings (rlimits)
  std::vector<std::string> strings() const;
};

// Called with a one-line reason when the plan is not what the init reads; must not return.
void onInvalid(void (*handler)(const std::string& reason));

// Parses `input`; on failure returns false and leaves a reason in `error`.
bool parse(const std::string& input, Value& out, std::string& error);

}  // namespace json
