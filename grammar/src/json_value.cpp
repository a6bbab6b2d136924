// json::Value helpers: kind names for messages and standard-JSON serialisation.
#include "postern/grammar/json_value.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace postern::grammar::json {
namespace {

void append_value(std::string& out, const Value& value) {
  switch (value.kind) {
    case Kind::Null:
      out += "null";
      return;
    case Kind::Bool:
      out += value.boolean ? "true" : "false";
      return;
    case Kind::Number:
      out += value.text;  // as written, so integers beyond 2^53 and huge exponents survive
      return;
    case Kind::String:
      append_json_string(out, value.text);
      return;
    case Kind::Array: {
      out += '[';
      bool first = true;
      for (const auto& item : value.items) {
        if (!first) out += ',';
        first = false;
        append_value(out, item);
      }
      out += ']';
      return;
    }
    case Kind::Object: {
      out += '{';
      for (const auto& member : value.members) {
        append_member_key(out, member.key);
        append_value(out, member.value);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::Null:
      return "null";
    case Kind::Bool:
      return "bool";
    case Kind::Number:
      return "number";
    case Kind::String:
      return "string";
    case Kind::Array:
      return "array";
    case Kind::Object:
      return "object";
  }
  return "value";
}

void append_member_key(std::string& out, std::string_view key) {
  if (out.empty() || out.back() != '{') out += ',';
  append_json_string(out, key);
  out += ':';
}

std::size_t plain_json_prefix(std::string_view text, bool ascii_only) noexcept {
  // The zero-byte and less-than tests of "Bit Twiddling Hacks": a borrow may flag bytes above a
  // real hit, never below one, so the lowest flagged byte is the first that needs escaping.
  constexpr std::uint64_t kOnes = 0x0101010101010101U;
  constexpr std::uint64_t kHighs = 0x8080808080808080U;
  const auto zero_bytes = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const std::uint64_t high_bytes = ascii_only ? kHighs : 0U;
  // Little-endian only: there the lowest flagged byte is the first in the text (on a big-endian
  // machine a borrow runs towards earlier bytes, and the loop below does all the work).
  constexpr bool kWords = std::endian::native == std::endian::little;
  std::size_t at = 0;
  for (; kWords && at + 8 <= text.size(); at += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + at, sizeof word);
    const std::uint64_t flagged = ((word - kOnes * 0x20U) & ~word & kHighs) | (word & high_bytes) |
                                  zero_bytes(word ^ (kOnes * std::uint64_t{'"'})) |
                                  zero_bytes(word ^ (kOnes * std::uint64_t{'\\'}));
    if (flagged != 0) return at + static_cast<std::size_t>(std::countr_zero(flagged)) / 8;
  }
  for (; at < text.size(); ++at) {
    const auto byte = static_cast<unsigned char>(text[at]);
    if (byte < 0x20 || byte == '"' || byte == '\\' || (ascii_only && byte >= 0x80)) return at;
  }
  return text.size();
}

void append_json_string(std::string& out, std::string_view utf8) {
  out += '"';
  for (;;) {
    const std::size_t plain = plain_json_prefix(utf8, false);
    out.append(utf8.data(), plain);
    if (plain == utf8.size()) break;
    const auto c = static_cast<unsigned char>(utf8[plain]);
    utf8.remove_prefix(plain + 1);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        std::array<char, 8> buf{};
        std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(c));
        out += buf.data();
        break;
      }
    }
  }
  out += '"';
}

std::string to_json(const Value& value) {
  std::string out;
  append_value(out, value);
  return out;
}

}  // namespace postern::grammar::json
