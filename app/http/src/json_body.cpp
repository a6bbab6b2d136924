#include "postern/http/json_body.hpp"

#include <fmt/format.h>

#include <vector>

#include "postern/http/limits.hpp"
#include "text.hpp"

namespace postern::http {
namespace {

using nlohmann::json;

struct Position {
  std::size_t line = 1;
  std::size_t column = 1;
};

Position position_of(std::string_view text, std::size_t offset) {
  Position position;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++position.line;
      position.column = 1;
    } else {
      ++position.column;
    }
  }
  return position;
}

JsonBody failure(std::string_view text, std::size_t offset, std::string_view what) {
  const auto position = position_of(text, offset);
  JsonBody body;
  body.error_offset = offset;
  body.error = fmt::format("{} at line {}, column {} (byte {})", what, position.line,
                           position.column, offset);
  if (offset < text.size())
    body.error += fmt::format(", near `{}`", detail::excerpt(text.substr(offset), 20));
  return body;
}

// The offset of the first bracket that opens level max_depth + 1, counting outside strings only;
// npos when the nesting stays within the limit. A loop, not recursion.
std::size_t find_too_deep(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

// The reason part of nlohmann's parse_error text, without the token it quotes. nlohmann writes
// "... - <reason>; last read: '<token>'; expected <what>", the token being the input's own bytes,
// which may hold "; expected " themselves: the token is cut out by its exact text (`last_token`,
// the same string nlohmann quoted), so what remains is nlohmann's words only.
std::string parse_error_reason(std::string_view what, std::string_view last_token) {
  constexpr std::string_view kMarker = "syntax error while parsing ";
  const auto start = what.find(kMarker);
  if (start == std::string_view::npos) return "syntax error";
  auto reason = what.substr(start + kMarker.size());
  const auto quoted = fmt::format("; last read: '{}'", last_token);
  std::string_view after;
  if (const auto at = reason.find(quoted); at != std::string_view::npos) {
    after = reason.substr(at + quoted.size());
    reason = reason.substr(0, at);
  } else {
    reason = reason.substr(0, reason.find("; last read"));
  }
  return detail::excerpt(fmt::format("{}{}", reason, after), 160);
}

// Builds the value from SAX events with an explicit stack, refusing duplicate keys.
class Builder : public nlohmann::json_sax<json> {
 public:
  bool null() override { return insert(json(nullptr)); }
  bool boolean(bool value) override { return insert(json(value)); }
  bool number_integer(number_integer_t value) override { return insert(json(value)); }
  bool number_unsigned(number_unsigned_t value) override { return insert(json(value)); }
  bool number_float(number_float_t value, const string_t& /*text*/) override {
    return insert(json(value));
  }
  bool string(string_t& value) override { return insert(json(std::move(value))); }
  bool binary(binary_t& value) override { return insert(json::binary(std::move(value))); }
  bool start_object(std::size_t /*size*/) override { return open(json::object()); }
  bool start_array(std::size_t /*size*/) override { return open(json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& name) override {
    json& object = *levels_.back().container;
    if (object.contains(name)) {
      duplicate_ = fmt::format("duplicate object key `{}` at `{}`", detail::excerpt(name, 60),
                               detail::excerpt(pointer_to(name), 120));
      return false;
    }
    pending_key_ = std::move(name);
    return true;
  }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& error) override {
    error_position_ = position;
    error_reason_ = parse_error_reason(error.what(), last_token);
    return false;
  }

  json root;
  std::string duplicate_;
  std::string error_reason_;
  std::size_t error_position_ = 0;

 private:
  struct Level {
    json* container;
    const std::string* key;  // where it sits in its parent object, or
    std::size_t index;       // in its parent array
  };

  Level place(json value) {
    if (levels_.empty()) {
      root = std::move(value);
      return Level{&root, nullptr, 0};
    }
    json& parent = *levels_.back().container;
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return Level{&parent.back(), nullptr, parent.size() - 1};
    }
    auto& object = parent.get_ref<json::object_t&>();
    const auto where = object.emplace(std::move(pending_key_), std::move(value)).first;
    return Level{&where->second, &where->first, 0};
  }

  bool insert(json value) {
    place(std::move(value));
    return true;
  }

  bool open(json container) {
    levels_.push_back(place(std::move(container)));
    return true;
  }

  bool close() {
    levels_.pop_back();
    return true;
  }

  // A JSON Pointer (RFC 6901) to member `name` of the innermost open object.
  std::string pointer_to(std::string_view name) const {
    std::string pointer;
    for (std::size_t i = 1; i < levels_.size(); ++i) {
      pointer += '/';
      pointer +=
          levels_[i].key != nullptr ? escape(*levels_[i].key) : fmt::format("{}", levels_[i].index);
    }
    return pointer + '/' + escape(name);
  }

  static std::string escape(std::string_view segment) {
    std::string out;
    for (const char c : segment) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
    return out;
  }

  std::vector<Level> levels_;
  std::string pending_key_;
};

}  // namespace

JsonBody parse_json_body(std::string_view text, std::size_t max_depth) {
  if (detail::trim(text).empty()) return failure(text, 0, "invalid JSON: the body is empty");
  // nlohmann's lexer takes a NUL byte for the end of its input, so `{"a":1}<NUL>anything` would
  // read as {"a":1}. JSON has no place for a raw NUL, not even inside a string.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return failure(text, nul, "invalid JSON: a NUL byte (JSON allows none, even in strings)");
  }
  const auto too_deep = find_too_deep(text, max_depth);
  if (too_deep != std::string_view::npos) {
    return failure(text, too_deep,
                   fmt::format("JSON nesting exceeds the limit of {} levels ({})", max_depth,
                               flag::kMaxJsonDepth));
  }
  Builder builder;
  try {
    if (json::sax_parse(text.begin(), text.end(), &builder)) {
      JsonBody body;
      body.value = std::move(builder.root);
      return body;
    }
  } catch (const std::exception& error) {
    builder.error_reason_ = detail::excerpt(error.what(), 160);
  }
  if (!builder.duplicate_.empty()) {
    JsonBody body;
    body.error = fmt::format("invalid JSON: {}", builder.duplicate_);
    return body;
  }
  const auto offset = builder.error_position_ > 0 ? builder.error_position_ - 1 : 0;
  return failure(text, offset, fmt::format("invalid JSON: {}", builder.error_reason_));
}

}  // namespace postern::http
