#include "json.h"

#include <cstdlib>

namespace json {

namespace {

const Value kNull;

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
      v.members.emplace_back(std::move(key), Value());
      if (!value(v.members.back().second)) return false;
    } while (consume(','));
    return consume('}');
  }
};

}  // namespace

const Value& Value::operator[](const char* key) const {
  if (kind != Kind::Object) return kNull;
  for (const auto& m : members)
    if (m.first == key) return m.second;
  return kNull;
}

int64_t Value::i64(int64_t fallback) const {
  if (kind != Kind::Number && kind != Kind::String) return fallback;
  return strtoll(text.c_str(), nullptr, 10);
}

uint64_t Value::u64(uint64_t fallback) const {
  if (kind != Kind::Number && kind != Kind::String) return fallback;
  return strtoull(text.c_str(), nullptr, 10);
}

std::vector<std::string> Value::strings() const {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.text);
  return out;
}

bool parse(const std::string& input, Value& out, std::string& error) {
  Parser p(input);
  return p.document(out, error);
}

}  // namespace json
