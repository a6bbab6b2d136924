#pragma once
// PEGTL grammar of HuJSON (spec policy-language.md §1): strict JSON plus `//` and `/* */`
// comments where whitespace may stand and one trailing comma in arrays and objects.
// Rules only: no actions, no state. Error points are the `expect_*` rules; their messages and
// codes live in hujson_control.hpp. Private to postern_grammar (and its tests).

#include <tao/pegtl.hpp>

namespace postern::grammar::hujson::rules {

namespace pegtl = tao::pegtl;

// NOLINTBEGIN(readability-identifier-naming): PEGTL rules are snake_case structs by convention.
// clang-format off

// ---- whitespace and comments ----
struct ws : pegtl::one<' ', '\t', '\r', '\n'> {};
// Fast path for ASCII comment text; anything else must be a valid UTF-8 code point.
struct comment_ascii : pegtl::plus<pegtl::ranges<'\x00', '\x09', '\x0b', '\x29', '\x2b', '\x7f'>> {};
struct comment_utf8 : pegtl::utf8::range<0x80, 0x10FFFF> {};
struct expect_line_comment_char : pegtl::sor<comment_ascii, pegtl::one<'*'>, comment_utf8> {};
struct expect_block_comment_char : pegtl::sor<comment_ascii, pegtl::one<'\n'>, comment_utf8> {};
// A line comment ends with (and includes) its `\n`; end of input first is an error (H014).
struct line_comment : pegtl::seq<pegtl::one<'/'>, pegtl::until<pegtl::one<'\n'>, pegtl::must<expect_line_comment_char>>> {};
// Block comments do not nest: the first `*/` ends one.
struct block_comment_end : pegtl::string<'*', '/'> {};
struct block_comment : pegtl::seq<pegtl::one<'*'>, pegtl::until<block_comment_end, pegtl::sor<pegtl::one<'*'>, pegtl::must<expect_block_comment_char>>>> {};
struct expect_comment_body : pegtl::sor<line_comment, block_comment> {};
struct comment : pegtl::seq<pegtl::one<'/'>, pegtl::must<expect_comment_body>> {};
struct skip : pegtl::star<pegtl::sor<pegtl::plus<ws>, comment>> {};

// ---- literals ----
struct null_literal : pegtl::string<'n', 'u', 'l', 'l'> {};
struct true_literal : pegtl::string<'t', 'r', 'u', 'e'> {};
struct false_literal : pegtl::string<'f', 'a', 'l', 's', 'e'> {};

// ---- numbers: RFC 8259 syntax, kept as text ----
struct digit : pegtl::digit {};
struct expect_no_leading_zero : pegtl::not_at<digit> {};
struct int_zero : pegtl::seq<pegtl::one<'0'>, pegtl::must<expect_no_leading_zero>> {};
struct int_nonzero : pegtl::seq<pegtl::range<'1', '9'>, pegtl::star<digit>> {};
struct int_part : pegtl::sor<int_zero, int_nonzero> {};
struct expect_frac_digits : pegtl::plus<digit> {};
struct frac_part : pegtl::seq<pegtl::one<'.'>, pegtl::must<expect_frac_digits>> {};
struct expect_exp_digits : pegtl::plus<digit> {};
struct exp_part : pegtl::seq<pegtl::one<'e', 'E'>, pegtl::opt<pegtl::one<'+', '-'>>, pegtl::must<expect_exp_digits>> {};
struct number : pegtl::seq<pegtl::opt<pegtl::one<'-'>>, int_part, pegtl::opt<frac_part>, pegtl::opt<exp_part>> {};

// ---- strings: JSON escapes; raw text must be valid UTF-8 without control characters ----
struct hex4 : pegtl::rep<4, pegtl::xdigit> {};
struct high_surrogate : pegtl::seq<pegtl::one<'d', 'D'>, pegtl::one<'8', '9', 'a', 'b', 'A', 'B'>, pegtl::xdigit, pegtl::xdigit> {};
struct low_surrogate : pegtl::seq<pegtl::one<'d', 'D'>, pegtl::ranges<'c', 'f', 'C', 'F'>, pegtl::xdigit, pegtl::xdigit> {};
// A high surrogate must be followed by an escaped low one; a lone low surrogate is an error (H020).
// The error points only look ahead (`at<>`), so errors are located at the escape's start.
struct expect_low_surrogate : pegtl::at<pegtl::one<'\\'>, pegtl::one<'u'>, low_surrogate> {};
struct surrogate_pair : pegtl::seq<high_surrogate, pegtl::must<expect_low_surrogate>, pegtl::one<'\\'>, pegtl::one<'u'>, hex4> {};
struct expect_code_unit : pegtl::at<pegtl::sor<high_surrogate, pegtl::seq<pegtl::not_at<low_surrogate>, hex4>>> {};
struct unicode_escape : pegtl::seq<pegtl::one<'u'>, pegtl::must<expect_code_unit>, pegtl::sor<surrogate_pair, hex4>> {};
struct expect_escape : pegtl::sor<pegtl::one<'"', '\\', '/', 'b', 'f', 'n', 'r', 't'>, unicode_escape> {};
struct escape : pegtl::seq<pegtl::one<'\\'>, pegtl::must<expect_escape>> {};
struct plain_ascii : pegtl::plus<pegtl::ranges<'\x20', '\x21', '\x23', '\x5b', '\x5d', '\x7f'>> {};
struct plain_utf8 : pegtl::utf8::range<0x80, 0x10FFFF> {};
struct expect_string_char : pegtl::sor<plain_ascii, escape, plain_utf8> {};
struct quote : pegtl::one<'"'> {};
struct string_body : pegtl::until<quote, pegtl::must<expect_string_char>> {};
struct string_literal : pegtl::seq<quote, string_body> {};
struct string_value : string_literal {};

// ---- arrays and objects (nesting is limited by the control class, see kMaxDepth) ----
struct value;
struct expect_element : pegtl::seq<value> {};
struct expect_array_sep : pegtl::one<','> {};
struct array_open : pegtl::one<'['> {};
struct array_close : pegtl::one<']'> {};
struct array_tail : pegtl::until<array_close, pegtl::must<expect_array_sep>, skip, pegtl::opt<pegtl::not_at<pegtl::one<']'>>, pegtl::must<expect_element>, skip>> {};
struct array_body : pegtl::sor<array_close, pegtl::seq<pegtl::must<expect_element>, skip, array_tail>> {};
struct array : pegtl::seq<array_open, skip, array_body> {};

struct expect_key : string_literal {};
struct expect_colon : pegtl::one<':'> {};
struct expect_member_value : pegtl::seq<value> {};
struct member : pegtl::seq<pegtl::must<expect_key>, skip, pegtl::must<expect_colon>, skip, pegtl::must<expect_member_value>, skip> {};
struct expect_object_sep : pegtl::one<','> {};
struct object_open : pegtl::one<'{'> {};
struct object_close : pegtl::one<'}'> {};
struct object_tail : pegtl::until<object_close, pegtl::must<expect_object_sep>, skip, pegtl::opt<pegtl::not_at<pegtl::one<'}'>>, member>> {};
struct object_body : pegtl::sor<object_close, pegtl::seq<member, object_tail>> {};
struct object : pegtl::seq<object_open, skip, object_body> {};

struct value : pegtl::sor<string_value, number, object, array, true_literal, false_literal, null_literal> {};

// ---- the document: exactly one value ----
struct expect_top_value : pegtl::seq<value> {};
struct expect_end : pegtl::eof {};
struct text : pegtl::seq<skip, pegtl::must<expect_top_value>, skip, pegtl::must<expect_end>> {};

// clang-format on
// NOLINTEND(readability-identifier-naming)

}  // namespace postern::grammar::hujson::rules
