// Messages, codes and help for every HuJSON error point (see hujson_control.hpp). Each function
// looks at the bytes at the failure site to name the offending character precisely.
#include <array>
#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>

#include "hujson_control.hpp"

namespace postern::grammar::hujson::detail {
namespace {

std::uint8_t byte_at(const char* p) { return static_cast<std::uint8_t>(*p); }

std::uint32_t offset(const Site& site, const char* p) {
  return static_cast<std::uint32_t>(p - site.base);
}

bool at_end(const Site& site) { return site.at >= site.end; }

std::string hex_byte(std::uint8_t b) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%02X", static_cast<unsigned>(b));
  return buf.data();
}

std::string code_point(std::uint8_t b) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "U+%04X", static_cast<unsigned>(b));
  return buf.data();
}

// Bytes covered by the character at `p` (at least one, never past the end).
std::size_t char_width(const Site& site, const char* p) {
  if (p >= site.end) return 0;
  const std::size_t n = utf8_length(p, site.end);
  return n == 0 ? 1 : n;
}

// `text` in backticks (appended piecewise: GCC 12 warns falsely on `"`" + std::string`).
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '`';
  out += text;
  out += '`';
  return out;
}

// How a message names the character at `p`.
std::string shown(const Site& site, const char* p) {
  if (p >= site.end) return "end of input";
  const std::uint8_t b = byte_at(p);
  if (b == '`') return "backtick";
  if (b > 0x20 && b < 0x7f) return quoted(std::string_view(p, 1));
  if (b == ' ') return "space";
  if (b < 0x80) return "control character " + code_point(b);
  const std::size_t n = utf8_length(p, site.end);
  if (n == 0) return "byte " + hex_byte(b);
  return quoted(std::string_view(p, n));
}

SyntaxError make(const Site& site, DiagCode code, const char* begin, std::size_t width,
                 std::string message, std::string help) {
  const std::uint32_t b = offset(site, begin);
  const auto room = static_cast<std::size_t>(site.end - begin);
  const auto w = static_cast<std::uint32_t>(width < room ? width : room);
  return SyntaxError{code, b, b + w, std::move(message), std::move(help)};
}

// The site's character when it is invalid UTF-8; checked first by every error point.
bool invalid_utf8_here(const Site& site) {
  return !at_end(site) && byte_at(site.at) >= 0x80 && utf8_length(site.at, site.end) == 0;
}

SyntaxError invalid_utf8(const Site& site, std::string_view where) {
  return make(site, DiagCode::H011, site.at, 1,
              "invalid UTF-8 byte " + hex_byte(byte_at(site.at)) + " " + std::string(where),
              "HuJSON text must be valid UTF-8; re-save the file with UTF-8 encoding");
}

bool is_word_char(std::uint8_t b) {
  return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_';
}

std::size_t word_width(const Site& site, const char* p) {
  const char* q = p;
  while (q < site.end && is_word_char(byte_at(q))) ++q;
  return static_cast<std::size_t>(q - p);
}

enum class ValueContext { Top, Element, Member };

constexpr const char* kValueHelp =
    "a value is a string in double quotes, a number, an object, an array, `true`, `false` or "
    "`null`";

SyntaxError value_start_error(const Site& site, ValueContext context) {
  if (at_end(site)) {
    if (context == ValueContext::Top) {
      const bool empty = site.base == site.end;
      return make(
          site, DiagCode::H003, site.at, 0,
          empty ? "empty input, expected a value" : "unexpected end of input, expected a value",
          "a HuJSON document holds exactly one value, usually an object `{ ... }`");
    }
    return make(site, DiagCode::H003, site.at, 0,
                context == ValueContext::Element
                    ? "unexpected end of input, expected an array element or `]`"
                    : "unexpected end of input, expected a value after `:`",
                "the document ends before every array and object is closed");
  }
  const std::uint8_t c = byte_at(site.at);
  if (context == ValueContext::Top && site.at == site.base && site.end - site.at >= 3 &&
      c == 0xEF && byte_at(site.at + 1) == 0xBB && byte_at(site.at + 2) == 0xBF) {
    return make(site, DiagCode::H019, site.at, 3, "unexpected byte order mark at start of input",
                "save the file as UTF-8 without a byte order mark (BOM)");
  }
  if (invalid_utf8_here(site)) return invalid_utf8(site, "at start of value");
  if (c == ',' && context == ValueContext::Element) {
    return make(site, DiagCode::H021, site.at, 1, "unexpected `,` in array",
                "HuJSON allows one trailing comma after the last element; remove the extra comma");
  }
  if (c == '-') {
    return make(site, DiagCode::H012, site.at + 1, char_width(site, site.at + 1),
                "invalid number: expected a digit after `-`, found " + shown(site, site.at + 1),
                "a number is written like `-12`, `0.5` or `1e9`");
  }
  if (c == 't' || c == 'f' || c == 'n') {
    const std::size_t w = word_width(site, site.at);
    const char* expected = c == 't' ? "`true`" : (c == 'f' ? "`false`" : "`null`");
    return make(site, DiagCode::H018, site.at, w,
                "invalid literal `" + std::string(site.at, w) + "`, expected " + expected,
                "the literals are `true`, `false` and `null`, in lowercase; quote strings with "
                "`\"`");
  }
  std::string help = kValueHelp;
  if (c == '\'') help = "strings use double quotes: `\"text\"`";
  if (c == '+') help = "numbers cannot start with `+`; write `1`, not `+1`";
  if (c == '.') help = "numbers need a digit before the decimal point: `0.5`, not `.5`";
  if (is_word_char(c)) {
    help =
        "bare words are not values: quote strings with `\"`; the literals `true`, `false` and "
        "`null` are lowercase";
  }
  return make(site, DiagCode::H002, site.at, char_width(site, site.at),
              "invalid character " + shown(site, site.at) + " at start of value", help);
}

SyntaxError separator_error(const Site& site, DiagCode code, std::string_view after,
                            std::string_view close, std::string_view help) {
  if (at_end(site)) {
    return make(site, DiagCode::H003, site.at, 0,
                "unexpected end of input, expected `,` or `" + std::string(close) + "`",
                "the document ends before every array and object is closed");
  }
  if (invalid_utf8_here(site)) return invalid_utf8(site, "outside a string");
  return make(site, code, site.at, char_width(site, site.at),
              "invalid character " + shown(site, site.at) + " after " + std::string(after),
              std::string(help));
}

constexpr const char* kEscapeHelp =
    "the escapes are `\\\"`, `\\\\`, `\\/`, `\\b`, `\\f`, `\\n`, `\\r`, `\\t` and `\\u` "
    "with four hex digits";
constexpr const char* kSurrogateHelp =
    "a `\\uD800`-`\\uDBFF` escape must be followed by a `\\uDC00`-`\\uDFFF` escape; write the "
    "character itself or a complete surrogate pair";

SyntaxError unterminated_string(const Site& site) {
  return make(site, DiagCode::H008, site.at, 0, "unterminated string",
              "close the string with `\"`");
}

}  // namespace

std::size_t utf8_length(const char* at, const char* end) {
  const auto avail = static_cast<std::size_t>(end - at);
  if (avail == 0) return 0;
  const std::uint8_t b0 = byte_at(at);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  std::uint32_t min = 0;
  if ((b0 & 0xE0U) == 0xC0U) {
    n = 2, cp = b0 & 0x1FU, min = 0x80;
  } else if ((b0 & 0xF0U) == 0xE0U) {
    n = 3, cp = b0 & 0x0FU, min = 0x800;
  } else if ((b0 & 0xF8U) == 0xF0U) {
    n = 4, cp = b0 & 0x07U, min = 0x10000;
  } else {
    return 0;
  }
  if (avail < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    const std::uint8_t b = byte_at(at + i);
    if ((b & 0xC0U) != 0x80U) return 0;
    cp = (cp << 6U) | (b & 0x3FU);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

SyntaxError top_value_error(const Site& site) { return value_start_error(site, ValueContext::Top); }

SyntaxError element_error(const Site& site) {
  return value_start_error(site, ValueContext::Element);
}

SyntaxError member_value_error(const Site& site) {
  return value_start_error(site, ValueContext::Member);
}

SyntaxError key_error(const Site& site) {
  if (at_end(site)) {
    return make(site, DiagCode::H003, site.at, 0,
                "unexpected end of input, expected an object key or `}`",
                "the document ends before every array and object is closed");
  }
  if (invalid_utf8_here(site)) return invalid_utf8(site, "outside a string");
  if (byte_at(site.at) == ',') {
    return make(site, DiagCode::H021, site.at, 1, "unexpected `,` in object",
                "HuJSON allows one trailing comma after the last member; remove the extra comma");
  }
  return make(site, DiagCode::H007, site.at, char_width(site, site.at),
              "invalid character " + shown(site, site.at) + " at start of object key",
              "object keys are strings in double quotes, like `\"name\": 1`");
}

SyntaxError colon_error(const Site& site) {
  if (at_end(site)) {
    return make(site, DiagCode::H003, site.at, 0,
                "unexpected end of input, expected `:` after object key",
                "the document ends before every array and object is closed");
  }
  if (invalid_utf8_here(site)) return invalid_utf8(site, "outside a string");
  return make(site, DiagCode::H006, site.at, char_width(site, site.at),
              "invalid character " + shown(site, site.at) + " after object key",
              "separate each key from its value with `:`");
}

SyntaxError array_sep_error(const Site& site) {
  return separator_error(site, DiagCode::H004, "array element", "]",
                         "separate array elements with `,` and close the array with `]`");
}

SyntaxError object_sep_error(const Site& site) {
  return separator_error(site, DiagCode::H005, "object member", "}",
                         "separate object members with `,` and close the object with `}`");
}

SyntaxError end_error(const Site& site) {
  if (invalid_utf8_here(site)) return invalid_utf8(site, "outside a string");
  return make(site, DiagCode::H015, site.at, char_width(site, site.at),
              "invalid character " + shown(site, site.at) + " after top-level value",
              "a HuJSON document holds exactly one value; wrap several values in an array");
}

SyntaxError string_char_error(const Site& site) {
  if (at_end(site)) return unterminated_string(site);
  const std::uint8_t c = byte_at(site.at);
  if (c < 0x20) {
    return make(site, DiagCode::H010, site.at, 1,
                "invalid control character " + code_point(c) + " in string",
                c == '\n' ? "strings cannot span lines: close the string with `\"` or write the "
                            "line break as `\\n`"
                          : "write control characters as escapes, like `\\t` or `\\u0001`");
  }
  return invalid_utf8(site, "in string");
}

SyntaxError escape_error(const Site& site) {
  if (at_end(site)) return unterminated_string(site);
  if (invalid_utf8_here(site)) return invalid_utf8(site, "in string");
  const std::size_t w = char_width(site, site.at);
  return make(site, DiagCode::H009, site.at - 1, w + 1,
              "invalid escape `\\" + std::string(site.at, w) + "` in string", kEscapeHelp);
}

SyntaxError code_unit_error(const Site& site) {
  // site.at is just after `\u`.
  std::size_t hex = 0;
  while (hex < 4 && site.at + hex < site.end && std::isxdigit(byte_at(site.at + hex)) != 0) ++hex;
  if (hex == 4) {  // four hex digits that failed: a lone low surrogate
    return make(site, DiagCode::H020, site.at - 2, 6,
                "unpaired surrogate `\\u" + std::string(site.at, 4) + "` in string",
                kSurrogateHelp);
  }
  if (site.at + hex >= site.end) return unterminated_string(site);
  return make(site, DiagCode::H009, site.at - 2, 2 + hex + 1,
              "invalid unicode escape `\\u" + std::string(site.at, hex) +
                  "`: expected four hex "
                  "digits",
              kEscapeHelp);
}

SyntaxError low_surrogate_error(const Site& site) {
  // site.at is just after the high surrogate's four hex digits.
  return make(site, DiagCode::H020, site.at - 6, 6,
              "unpaired surrogate `\\u" + std::string(site.at - 4, 4) + "` in string",
              kSurrogateHelp);
}

SyntaxError leading_zero_error(const Site& site) {
  return make(site, DiagCode::H012, site.at - 1, 1 + word_width(site, site.at),
              "invalid number: leading zeros are not allowed",
              "remove the leading zero, or quote the value if it is an identifier");
}

SyntaxError frac_digits_error(const Site& site) {
  return make(
      site, DiagCode::H012, site.at, char_width(site, site.at),
      "invalid number: expected a digit after the decimal point, found " + shown(site, site.at),
      "write `1.0` or `1`, not `1.`");
}

SyntaxError exp_digits_error(const Site& site) {
  return make(site, DiagCode::H012, site.at, char_width(site, site.at),
              "invalid number: expected a digit in the exponent, found " + shown(site, site.at),
              "an exponent is written like `1e9`, `1E+9` or `1e-9`");
}

SyntaxError comment_body_error(const Site& site) {
  // site.at is just after the `/`.
  return make(site, DiagCode::H017, site.at - 1, 1,
              "invalid character `/`: expected `//` or `/*` to start a comment",
              "comments are `// to end of line` or `/* block */`");
}

SyntaxError line_comment_error(const Site& site) {
  if (at_end(site)) {
    return make(site, DiagCode::H014, site.at, 0,
                "line comment at end of input is not ended by a newline",
                "add a newline after the last comment (Tailscale rejects this file too)");
  }
  return invalid_utf8(site, "in comment");
}

SyntaxError block_comment_error(const Site& site) {
  if (at_end(site)) {
    return make(site, DiagCode::H013, site.at, 0, "unterminated block comment",
                "close the comment with `*/`; block comments do not nest");
  }
  return invalid_utf8(site, "in comment");
}

SyntaxError depth_error(const Site& site) {
  return make(
      site, DiagCode::H016, site.at, 1,
      "nesting too deep: more than " + std::to_string(kMaxDepth) + " nested arrays and objects",
      "flatten the document; arrays and objects may nest at most " + std::to_string(kMaxDepth) +
          " levels deep");
}

}  // namespace postern::grammar::hujson::detail
