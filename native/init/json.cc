#include "json.h"

#include <cstdlib>

namespace json {

namespace {

void (*invalidHandler)(const std::string&) = nullptr;

[[noreturn]] void invalid(const Value& v, const std::string& why) {
  std::string reason = "invalid plan: " + (v.path.empty() ? std::string("(top level)") : v.path) + ": " + why;
  if (invalidHandler) invalidHandler(reason);
  abort();
}

const char* kindName(Kind k) {
  switch (k) {
    case Kind::Null: return "null";
    case Kind::Bool: return "a boolean";
    case Kind::Number: return "a number";
    case Kind::String: return "a string";
    case Kind::Array: return "an array";
    case Kind::Object: return "an object";
  }
  return "?";
}

[[noreturn]] void wrongType(const Value& v, const char* want) { invalid(v, std::string("must be ") + want + ", not " + kindName(v.kind)); }

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  bool document(Value& out, std::string& error) {
    if (!value(out) || (skipSpace(), pos_ != s_.size())) {
      error = "invalid plan JSON near offset " + std::to_string(pos_);
      return false;
    }
    return true;
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;

  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) pos_++;
  }
  bool consume(char c) {
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) { pos_++; return true; }
    return false;
  }
  bool literal(const char* word) {
    size_t n = 0;
    while (word[n]) n++;
    if (s_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }

  bool value(Value& v) {
    skipSpace();
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c == '{') return object(v);
    if (c == '[') return array(v);
    if (c == '"') { v.kind = Kind::String; return string(v.text); }
    if (c == 't') { v.kind = Kind::Bool; v.boolean = true; return literal("true"); }
    if (c == 'f') { v.kind = Kind::Bool; v.boolean = false; return literal("false"); }
    if (c == 'n') { v.kind = Kind::Null; return literal("null"); }
    return number(v);
  }

  bool number(Value& v) {
    size_t start = pos_;
    while (pos_ < s_.size() && (isdigitc(s_[pos_]) || s_[pos_] == '-' || s_[pos_] == '+' || s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) pos_++;
    if (pos_ == start) return false;
    v.kind = Kind::Number;
    v.text = s_.substr(start, pos_ - start);
    return true;
  }
  static bool isdigitc(char c) { return c >= '0' && c <= '9'; }

  static void appendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool string(std::string& out) {
    pos_++;  // opening quote
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (c != '\\') { out += c; continue; }
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (pos_ + 4 > s_.size()) return false;
          unsigned cp = static_cast<unsigned>(strtoul(s_.substr(pos_, 4).c_str(), nullptr, 16));
          pos_ += 4;
          appendUtf8(out, cp);
          break;
        }
        default: out += e;
      }
    }
    return false;
  }

  bool array(Value& v) {
    v.kind = Kind::Array;
    pos_++;
    if (consume(']')) return true;
    do {
      v.items.emplace_back();
      v.items.back().path = v.path + "[" + std::to_string(v.items.size() - 1) + "]";
      if (!value(v.items.back())) return false;
    } while (consume(','));
    return consume(']');
  }

  bool object(Value& v) {
    v.kind = Kind::Object;
    pos_++;
    if (consume('}')) return true;
    do {
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return false;
      std::string key;
      if (!string(key) || !consume(':')) return false;
      std::string where = v.path.empty() ? key : v.path + "." + key;
      v.members.emplace_back(std::move(key), Value());
      v.members.back().second.path = std::move(where);
      if (!value(v.members.back().second)) return false;
    } while (consume(','));
    return consume('}');
  }
};

}  // namespace

void onInvalid(void (*handler)(const std::string& reason)) { invalidHandler = handler; }

bool Value::has(const char* key) const {
  if (kind != Kind::Object) return false;
  for (const auto& m : members)
    if (m.first == key) return true;
  return false;
}

const Value& Value::operator[](const char* key) const {
  if (kind != Kind::Object) wrongType(*this, "an object");
  for (const auto& m : members)
    if (m.first == key) return m.second;
  invalid(*this, std::string("missing key \"") + key + "\"");
}

size_t Value::size() const {
  if (kind != Kind::Array) wrongType(*this, "an array");
  return items.size();
}

std::string Value::str() const {
  if (kind != Kind::String) wrongType(*this, "a string");
  return text;
}

bool Value::flag() const {
  if (kind != Kind::Bool) wrongType(*this, "a boolean");
  return boolean;
}

namespace {
bool integerText(const std::string& text, bool allowSign) {
  if (text.empty()) return false;
  for (size_t i = 0; i < text.size(); i++)
    if (!(text[i] >= '0' && text[i] <= '9') && !(allowSign && i == 0 && text[i] == '-' && text.size() > 1)) return false;
  return true;
}
}  // namespace

int64_t Value::i64() const {
  if (kind != Kind::Number || !integerText(text, true)) wrongType(*this, "an integer");
  return strtoll(text.c_str(), nullptr, 10);
}

uint64_t Value::u64() const {
  if ((kind != Kind::Number && kind != Kind::String) || !integerText(text, false)) wrongType(*this, "an unsigned integer");
  return strtoull(text.c_str(), nullptr, 10);
}

std::vector<std::string> Value::strings() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < size(); i++) out.push_back(items[i].str());
  return out;
}

bool parse(const std::string& input, Value& out, std::string& error) {
  Parser p(input);
  return p.document(out, error);
}

}  // namespace json
