#pragma once
// The HuJSON document model: every value carries its byte span in the source text.

#include <cstdint>
#include <string>
#include <vector>

#include "postern/grammar/diag.hpp"

namespace postern::grammar::json {

enum class Kind : std::uint8_t { Null, Bool, Number, String, Array, Object };

struct Member;

struct Value {
  Kind kind = Kind::Null;
  Span span;             // the whole value, from its first to one past its last byte
  bool boolean = false;  // Kind::Bool
  double number = 0.0;   // Kind::Number: parsed value (may be +-inf when the text overflows)
  std::string text;      // Kind::String: decoded UTF-8; Kind::Number: the literal text as written
  std::vector<Value> items;     // Kind::Array
  std::vector<Member> members;  // Kind::Object, in source order, duplicates kept

  [[nodiscard]] bool is_null() const { return kind == Kind::Null; }
  [[nodiscard]] bool is_bool() const { return kind == Kind::Bool; }
  [[nodiscard]] bool is_number() const { return kind == Kind::Number; }
  [[nodiscard]] bool is_string() const { return kind == Kind::String; }
  [[nodiscard]] bool is_array() const { return kind == Kind::Array; }
  [[nodiscard]] bool is_object() const { return kind == Kind::Object; }
  // True when the string's source bytes contain no escape sequence, so source offsets of its
  // characters are `span.begin + 1 + index` (used to locate errors inside posture strings).
  bool string_is_verbatim = true;
};

struct Member {
  std::string key;  // decoded
  Span key_span;    // including the quotes
  Value value;
};

// "null", "bool", ... for messages.
std::string_view kind_name(Kind kind);

// Compact standard JSON (RFC 8259) of `value`: numbers as written, strings re-escaped.
std::string to_json(const Value& value);
// Appends `utf8` as a quoted JSON string literal (`"`, `\` and control characters escaped).
void append_json_string(std::string& out, std::string_view utf8);
// How many bytes at the start of `text` go into a JSON string literal as they are: none below
// 0x20, no `"`, no `\`, and with `ascii_only` none of 0x80 or above. Eight bytes per step.
[[nodiscard]] std::size_t plain_json_prefix(std::string_view text, bool ascii_only) noexcept;
// Appends `"key":` to the object `out` is writing, after a comma unless the object is still
// empty (`out` ends with its `{`).
void append_member_key(std::string& out, std::string_view key);

}  // namespace postern::grammar::json
