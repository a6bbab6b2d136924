// JSON string literals as answers, audit details and attribute listings write them: scanned
// eight bytes at a time, so every byte value is tried at every place of a word and of the bytes
// after the last whole word, against nlohmann's escaping.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "postern/grammar/json_value.hpp"

namespace json_string_test {

using postern::grammar::json::append_json_string;
using postern::grammar::json::plain_json_prefix;

std::string nlohmann_text(const std::string& text) { return nlohmann::json(text).dump(); }

bool needs_escape(unsigned char byte, bool ascii_only) {
  return byte < 0x20 || byte == '"' || byte == '\\' || (ascii_only && byte >= 0x80);
}

TEST_CASE("every byte at every place ends the plain prefix exactly where it should",
          "[grammar][json]") {
  for (const std::size_t length : {std::size_t{7}, std::size_t{8}, std::size_t{19}}) {
    for (std::size_t place = 0; place < length; ++place) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string text(length, 'a');
        text[place] = static_cast<char>(byte);
        INFO("length " << length << ", byte " << byte << " at " << place);
        for (const bool ascii_only : {false, true}) {
          const auto expected =
              needs_escape(static_cast<unsigned char>(byte), ascii_only) ? place : length;
          CHECK(plain_json_prefix(text, ascii_only) == expected);
        }
        if (byte < 0x80) {  // alone, a byte of 0x80 or more is no UTF-8 for nlohmann
          std::string out;
          append_json_string(out, text);
          CHECK(out == nlohmann_text(text));
        }
      }
    }
  }
}

TEST_CASE("escapes after one another and UTF-8 text come out as nlohmann writes them",
          "[grammar][json]") {
  for (const std::string& text :
       {std::string(), std::string("\"\"\\\\\n\t\x01\x1f"), std::string("caf\xc3\xa9 \xe6\x97\xa5"),
        std::string("a long plain run of text, then \"a quote\" and a tab\t, then more text"),
        std::string(20, '\\'), std::string("\x7f del")}) {
    std::string out = "x";
    append_json_string(out, text);
    CHECK(out == "x" + nlohmann_text(text));
  }
}

}  // namespace json_string_test
