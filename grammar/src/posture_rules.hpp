#pragma once
// PEGTL grammar for one posture condition (spec policy-language.md §5.3). Private to
// postern_grammar; the grammar tests include it too, for analyze<> and for runs without actions.
//
// Error points are rules named `expect_*` (or a named error tag) that end in `raise<tag>`: the
// parse position at the raise is the start of the offending token. The control class turns each
// raise into a SyntaxError carrying the tag's diagnostic code, message template and token extent.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tao/pegtl.hpp>

#include "postern/grammar/diag.hpp"

namespace postern::grammar::posture {

namespace rules {
// NOLINTBEGIN(readability-identifier-naming): PEGTL rules are snake_case structs by convention.
using tao::pegtl::alpha;
using tao::pegtl::any;
using tao::pegtl::at;
using tao::pegtl::digit;
using tao::pegtl::eof;
using tao::pegtl::istring;
using tao::pegtl::not_at;
using tao::pegtl::not_one;
using tao::pegtl::one;
using tao::pegtl::opt;
using tao::pegtl::plus;
using tao::pegtl::raise;
using tao::pegtl::ranges;
using tao::pegtl::seq;
using tao::pegtl::sor;
using tao::pegtl::star;
using tao::pegtl::string;

// clang-format off
// ---- character classes ----
struct blank : one<' ', '\t'> {};
struct ws : star<blank> {};
struct word_char : ranges<'a', 'z', 'A', 'Z', '0', '9', '_'> {};
// Punctuation that starts an operator-like token (`~=`, `=`, `=>`); `-` and `.` belong to numbers.
struct op_char : one<'=', '!', '<', '>', '~', '&', '|', '^', '%', '*', '+', '/', '?', '@', '#', '$', ';', '`', '\\'> {};
// Characters that end an attribute token; anything else glued to `ns:name` makes it invalid.
struct attr_stop : one<' ', '\t', '=', '!', '<', '>', '~', '\'', '"', '[', ']', ',', '(', ')'> {};
struct attr_junk : seq<not_at<attr_stop>, any> {};

// ---- attribute ----
struct ns_name : seq<alpha, star<ranges<'a', 'z', 'A', 'Z', '0', '9'>>> {};
struct key_name : plus<word_char> {};
struct attribute : seq<ns_name, one<':'>, key_name, not_at<attr_junk>> {};

// ---- keywords (case-insensitive, whole words) ----
template <class Word> struct keyword : seq<Word, not_at<word_char>> {};
struct kw_in : keyword<istring<'i', 'n'>> {};
struct kw_not : keyword<istring<'n', 'o', 't'>> {};
struct kw_is : keyword<istring<'i', 's'>> {};
struct kw_set : keyword<istring<'s', 'e', 't'>> {};
struct kw_true : keyword<istring<'t', 'r', 'u', 'e'>> {};
struct kw_false : keyword<istring<'f', 'a', 'l', 's', 'e'>> {};

// ---- error tags that are not rules of their own ----
struct unknown_operator {};
struct single_value_required {};
struct unterminated_string {};
struct invalid_number {};
struct empty_list {};

// ---- literals ----
struct single_content : star<not_one<'\''>> {};
struct double_content : star<not_one<'"'>> {};
struct single_quoted : seq<one<'\''>, single_content, one<'\''>> {};
struct double_quoted : seq<one<'"'>, double_content, one<'"'>> {};
struct string_literal : sor<single_quoted, double_quoted, seq<at<one<'\'', '"'>>, raise<unterminated_string>>> {};
struct number : seq<opt<one<'-'>>, plus<digit>, opt<one<'.'>, plus<digit>>> {};
struct number_junk : sor<word_char, one<'.', '-'>> {};
struct number_literal : seq<number, not_at<number_junk>> {};
struct number_or_error : sor<number_literal, seq<at<one<'-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'>>, raise<invalid_number>>> {};
struct true_literal : kw_true {};
struct false_literal : kw_false {};
struct scalar : sor<string_literal, number_or_error, true_literal, false_literal> {};

// ---- operands ----
struct expect_value : sor<scalar, seq<at<one<'['>>, raise<single_value_required>>, raise<expect_value>> {};
struct expect_list_value : sor<scalar, raise<expect_list_value>> {};
struct list_element : seq<expect_list_value, ws> {};
struct list_next : seq<one<','>, ws, not_at<one<']'>>, list_element> {};
struct expect_list_close : sor<one<']'>, raise<expect_list_close>> {};
struct list_body : seq<list_element, star<list_next>, opt<one<','>, ws>, expect_list_close> {};
struct list : sor<seq<at<one<'['>, ws, one<']'>>, raise<empty_list>>, seq<one<'['>, ws, list_body>> {};
struct expect_list : sor<list, raise<expect_list>> {};

// ---- operators ----
struct cmp_op : seq<sor<string<'=', '='>, string<'!', '='>, string<'<', '='>, string<'>', '='>, one<'<'>, one<'>'>>, not_at<op_char>> {};
struct op_in : kw_in {};
struct op_not_in : seq<kw_not, ws, kw_in> {};
struct op_not_set : seq<kw_not, ws, kw_set> {};
struct op_is_set : seq<kw_is, ws, kw_set> {};
struct expect_in_or_set : raise<expect_in_or_set> {};
struct expect_set : raise<expect_set> {};
struct cmp_tail : seq<cmp_op, ws, expect_value> {};
struct in_tail : seq<op_in, ws, expect_list> {};
struct not_in_tail : seq<op_not_in, ws, expect_list> {};
struct tail : sor<cmp_tail, in_tail, not_in_tail, op_not_set, op_is_set,
                  seq<kw_not, ws, expect_in_or_set>, seq<kw_is, ws, expect_set>> {};
// No operator at all is the bare form (`node:tsAutoUpdate`).
struct expect_operator : sor<eof, tail, seq<at<op_char>, raise<unknown_operator>>, raise<expect_operator>> {};

// ---- condition ----
struct expect_condition : sor<not_at<eof>, raise<expect_condition>> {};
struct expect_attribute : sor<attribute, raise<expect_attribute>> {};
struct expect_end : sor<eof, raise<expect_end>> {};
struct condition : seq<ws, expect_condition, expect_attribute, ws, expect_operator, ws, expect_end> {};
// clang-format on
// NOLINTEND(readability-identifier-naming)
}  // namespace rules

// How far the offending token reaches from the raise position.
enum class TokenShape : std::uint8_t {
  Generic,    // a quoted string, an operator run, one bracket, or a word
  Attribute,  // everything up to whitespace or an operator/quote/bracket
  List,       // `[` to its matching `]` (quotes respected) or the end
};

// Message templates may use {token} (the offending text), {attr} (the attribute) and {op} (the
// canonical operator spelling); parse() fills them in.
template <class Tag>
struct error_info {
  static constexpr DiagCode code = DiagCode::P101;
  static constexpr const char* message = nullptr;
  static constexpr const char* help = "";
  static constexpr TokenShape shape = TokenShape::Generic;
};

#define POSTERN_POSTURE_ERROR(Tag, Code, Message, Help, Shape) \
  template <>                                                  \
  struct error_info<rules::Tag> {                              \
    static constexpr DiagCode code = DiagCode::Code;           \
    static constexpr const char* message = Message;            \
    static constexpr const char* help = Help;                  \
    static constexpr TokenShape shape = TokenShape::Shape;     \
  };

inline constexpr const char* kOperatorHelp =
    "use one of `==`, `!=`, `<`, `<=`, `>`, `>=`, `IN`, `NOT IN`, `IS SET`, `NOT SET`";
inline constexpr const char* kValueHelp =
    "a value is a quoted string such as `'macos'`, a number such as `70`, or `true`/`false`";

// clang-format off
POSTERN_POSTURE_ERROR(expect_condition, P101, "empty posture condition",
                      "write a condition such as `node:os == 'macos'`", Generic)
POSTERN_POSTURE_ERROR(expect_attribute, P102, "invalid attribute `{token}`",
                      "an attribute is `namespace:name`, such as `node:os` or `custom:my_key`", Attribute)
POSTERN_POSTURE_ERROR(expect_operator, P103, "expected operator after `{attr}`",
                      kOperatorHelp, Generic)
POSTERN_POSTURE_ERROR(unknown_operator, P104, "unknown operator `{token}`",
                      kOperatorHelp, Generic)
POSTERN_POSTURE_ERROR(expect_value, P105, "expected value after `{op}`",
                      kValueHelp, Generic)
POSTERN_POSTURE_ERROR(unterminated_string, P106, "unterminated string",
                      "close the string with the quote it starts with", Generic)
POSTERN_POSTURE_ERROR(expect_list, P107, "{op} requires a list",
                      "write the values in brackets, such as `['macos', 'linux']`", Generic)
POSTERN_POSTURE_ERROR(single_value_required, P108, "{op} requires a single value",
                      "use `IN` or `NOT IN` to test membership in a list", List)
POSTERN_POSTURE_ERROR(expect_list_value, P109, "expected value in list",
                      kValueHelp, Generic)
POSTERN_POSTURE_ERROR(expect_list_close, P110, "expected `,` or `]` in list",
                      "separate list values with commas and close the list with `]`", Generic)
POSTERN_POSTURE_ERROR(empty_list, P111, "{op} requires a non-empty list",
                      "list at least one value, such as `['macos']`", List)
POSTERN_POSTURE_ERROR(expect_end, P112, "unexpected `{token}` after condition",
                      "a condition is one attribute, one operator and its value; combine conditions by listing them in the posture", Generic)
POSTERN_POSTURE_ERROR(expect_set, P113, "expected `SET` after `IS`",
                      "write `IS SET` to require that the attribute exists", Generic)
POSTERN_POSTURE_ERROR(expect_in_or_set, P113, "expected `IN` or `SET` after `NOT`",
                      "write `NOT IN [...]` or `NOT SET`", Generic)
POSTERN_POSTURE_ERROR(invalid_number, P114, "invalid number `{token}`",
                      "numbers look like `42`, `-1` or `0.5`; quote versions and text, such as `'1.42.2'`", Generic)
// clang-format on
#undef POSTERN_POSTURE_ERROR

// Thrown by the control class and by actions; never leaves posture::parse.
struct SyntaxError {
  DiagCode code;
  const char* message;  // template, see error_info
  const char* help;
  std::size_t begin;  // offsets into the condition text
  std::size_t end;
};

// Where the token starting at `pos` ends (offsets into `text`).
std::size_t token_end(std::string_view text, std::size_t pos, TokenShape shape);

template <class Rule>
struct control : tao::pegtl::normal<Rule> {
  template <class Input, class... States>
  [[noreturn]] static void raise(const Input& in, States&&... /*unused*/) {
    static_assert(error_info<Rule>::message != nullptr, "every error point needs a message");
    const std::string_view text(in.begin(), static_cast<std::size_t>(in.end() - in.begin()));
    const auto pos = static_cast<std::size_t>(in.current() - in.begin());
    throw SyntaxError{error_info<Rule>::code, error_info<Rule>::message, error_info<Rule>::help,
                      pos, token_end(text, pos, error_info<Rule>::shape)};
  }
};

}  // namespace postern::grammar::posture
