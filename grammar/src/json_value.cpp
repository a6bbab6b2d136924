// json::Value helpers: kind names for messages and standard-JSON serialisation.
#include "postern/grammar/json_value.hpp"

#include <array>
#include <cstdio>

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

void append_json_string(std::string& out, std::string_view utf8) {
  out += '"';
  const char* run = utf8.data();
  const char* const end = run + utf8.size();
  for (const char* p = run; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(run, p);
    run = p + 1;
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
  out.append(run, end);
  out += '"';
}

std::string to_json(const Value& value) {
  std::string out;
  append_value(out, value);
  return out;
}

}  // namespace postern::grammar::json
