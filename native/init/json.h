// A small JSON reader for the plan the runtime sends. Only what the plan needs: no streaming,
// no unicode escapes beyond \uXXXX → UTF-8.
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

  const Value& operator[](const char* key) const;  // Null value when absent
  const Value& at(size_t i) const { return items[i]; }
  size_t size() const { return kind == Kind::Array ? items.size() : members.size(); }
  bool isNull() const { return kind == Kind::Null; }

  std::string str(const char* fallback = "") const { return kind == Kind::String ? text : fallback; }
  bool flag(bool fallback = false) const { return kind == Kind::Bool ? boolean : fallback; }
  int64_t i64(int64_t fallback = 0) const;
  uint64_t u64(uint64_t fallback = 0) const;  // also accepts decimal strings (rlimits)
  std::vector<std::string> strings() const;
};

// Parses `input`; on failure returns false and leaves a reason in `error`.
bool parse(const std::string& input, Value& out, std::string& error);

}  // namespace json
