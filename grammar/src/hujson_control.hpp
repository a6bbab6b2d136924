#pragma once
// Error reporting and the nesting limit for the HuJSON grammar: a PEGTL control class whose
// raise() turns each `expect_*` error point into an internal SyntaxError with a stable H-code,
// a Tailscale-like message and help. parse() converts it into the one Diagnostic.

#include <cstdint>
#include <string>
#include <tao/pegtl.hpp>

#include "hujson_rules.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/grammar/hujson.hpp"

namespace postern::grammar::hujson::detail {

// Thrown inside the grammar only; never crosses the public API.
struct SyntaxError {
  DiagCode code;
  std::uint32_t begin;
  std::uint32_t end;
  std::string message;
  std::string help;
};

// Where an error point failed: the whole input and the offending position.
struct Site {
  const char* base;
  const char* at;
  const char* end;
};

// Length of the valid UTF-8 sequence at `at`, or 0 when the bytes there are not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_length(const char* at, const char* end);

// One error per error point; the rule decides the code, the bytes at the site refine the text.
SyntaxError top_value_error(const Site& site);
SyntaxError element_error(const Site& site);
SyntaxError member_value_error(const Site& site);
SyntaxError key_error(const Site& site);
SyntaxError colon_error(const Site& site);
SyntaxError array_sep_error(const Site& site);
SyntaxError object_sep_error(const Site& site);
SyntaxError end_error(const Site& site);
SyntaxError string_char_error(const Site& site);
SyntaxError escape_error(const Site& site);
SyntaxError code_unit_error(const Site& site);
SyntaxError low_surrogate_error(const Site& site);
SyntaxError leading_zero_error(const Site& site);
SyntaxError frac_digits_error(const Site& site);
SyntaxError exp_digits_error(const Site& site);
SyntaxError comment_body_error(const Site& site);
SyntaxError line_comment_error(const Site& site);
SyntaxError block_comment_error(const Site& site);
SyntaxError depth_error(const Site& site);

// The primary template is deliberately undefined: a `must<>` rule without an entry here fails
// to compile, so no error point can go without a message.
template <class Rule>
struct error_for;

#define POSTERN_HUJSON_ERROR(rule, fn)                             \
  template <>                                                      \
  struct error_for<rules::rule> {                                  \
    static SyntaxError make(const Site& site) { return fn(site); } \
  };
POSTERN_HUJSON_ERROR(expect_top_value, top_value_error)
POSTERN_HUJSON_ERROR(expect_element, element_error)
POSTERN_HUJSON_ERROR(expect_member_value, member_value_error)
POSTERN_HUJSON_ERROR(expect_key, key_error)
POSTERN_HUJSON_ERROR(expect_colon, colon_error)
POSTERN_HUJSON_ERROR(expect_array_sep, array_sep_error)
POSTERN_HUJSON_ERROR(expect_object_sep, object_sep_error)
POSTERN_HUJSON_ERROR(expect_end, end_error)
POSTERN_HUJSON_ERROR(expect_string_char, string_char_error)
POSTERN_HUJSON_ERROR(expect_escape, escape_error)
POSTERN_HUJSON_ERROR(expect_code_unit, code_unit_error)
POSTERN_HUJSON_ERROR(expect_low_surrogate, low_surrogate_error)
POSTERN_HUJSON_ERROR(expect_no_leading_zero, leading_zero_error)
POSTERN_HUJSON_ERROR(expect_frac_digits, frac_digits_error)
POSTERN_HUJSON_ERROR(expect_exp_digits, exp_digits_error)
POSTERN_HUJSON_ERROR(expect_comment_body, comment_body_error)
POSTERN_HUJSON_ERROR(expect_line_comment_char, line_comment_error)
POSTERN_HUJSON_ERROR(expect_block_comment_char, block_comment_error)
#undef POSTERN_HUJSON_ERROR

// Every parse passes one state object with a `depth` member as its first state (also when
// running without actions), so the nesting limit holds in every mode.
template <class Rule>
struct control : tao::pegtl::normal<Rule> {
  static constexpr bool kNests =
      std::is_same_v<Rule, rules::array_body> || std::is_same_v<Rule, rules::object_body>;

  template <class Input, class State, class... Rest>
  static void start(const Input& in, State& state, Rest&... /*rest*/) {
    if constexpr (kNests) {
      // Checked right after the opening bracket and before recursing, so the C++ stack never
      // grows deeper than kMaxDepth grammar levels.
      if (++state.depth > kMaxDepth) {
        const char* at = in.current() - 1;
        throw depth_error(Site{in.begin(), at, in.end()});
      }
    }
  }
  template <class Input, class State, class... Rest>
  static void success(const Input& /*in*/, State& state, Rest&... /*rest*/) {
    if constexpr (kNests) --state.depth;
  }
  template <class Input, class State, class... Rest>
  static void failure(const Input& /*in*/, State& state, Rest&... /*rest*/) {
    if constexpr (kNests) --state.depth;
  }
  template <class Input, class... States>
  [[noreturn]] static void raise(const Input& in, States&&... /*states*/) {
    throw error_for<Rule>::make(Site{in.begin(), in.current(), in.end()});
  }
};

}  // namespace postern::grammar::hujson::detail
