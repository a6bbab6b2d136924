// posture::parse: runs the PEGTL grammar of posture_rules.hpp with actions that build a Condition,
// then applies the shape checks that need the whole condition (mixed lists, booleans ordered).
#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include "postern/grammar/posture.hpp"
#include "posture_rules.hpp"

namespace postern::grammar::posture {

std::size_t token_end(std::string_view text, std::size_t pos, TokenShape shape) {
  const std::size_t size = text.size();
  if (pos >= size) return size;
  const auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
  const auto is_quote = [](char c) { return c == '\'' || c == '"'; };
  const auto is_single = [](char c) {
    return c == '[' || c == ']' || c == ',' || c == '(' || c == ')';
  };
  const auto is_op = [](char c) {
    return std::string_view("=!<>~&|^%*+/?@#$;`\\").find(c) != std::string_view::npos;
  };
  const auto closing_quote = [&](std::size_t open) {
    const auto close = text.find(text[open], open + 1);
    return close == std::string_view::npos ? size : close + 1;
  };
  if (shape == TokenShape::Attribute) {
    std::size_t end = pos;
    while (end < size && !is_blank(text[end]) && !is_quote(text[end]) && !is_single(text[end]) &&
           std::string_view("=!<>~").find(text[end]) == std::string_view::npos) {
      ++end;
    }
    if (end > pos) return end;
  }
  if (shape == TokenShape::List && text[pos] == '[') {
    for (std::size_t i = pos + 1; i < size; ++i) {
      if (is_quote(text[i])) {
        i = closing_quote(i) - 1;
      } else if (text[i] == ']') {
        return i + 1;
      }
    }
    return size;
  }
  const char first = text[pos];
  if (is_quote(first)) return closing_quote(pos);
  if (is_single(first) || is_blank(first)) return pos + 1;
  std::size_t end = pos + 1;
  if (is_op(first)) {
    while (end < size && is_op(text[end])) ++end;
    return end;
  }
  while (end < size && !is_blank(text[end]) && !is_quote(text[end]) && !is_single(text[end]) &&
         !is_op(text[end])) {
    ++end;
  }
  return end;
}

namespace {

struct ParseState {
  const char* base;
  Condition condition;

  [[nodiscard]] Span span_of(const char* begin, const char* end) const {
    return Span{static_cast<std::uint32_t>(begin - base), static_cast<std::uint32_t>(end - base)};
  }
};

template <class Rule>
struct action : tao::pegtl::nothing<Rule> {};

template <>
struct action<rules::attribute> {
  template <class ActionInput>
  static void apply(const ActionInput& in, ParseState& state) {
    const std::string_view text = in.string_view();
    const auto colon = text.find(':');
    auto& c = state.condition;
    c.attribute = std::string(text);
    c.ns = std::string(text.substr(0, colon));
    c.key = std::string(text.substr(colon + 1));
    c.attribute_span = state.span_of(in.begin(), in.end());
  }
};

template <Op kOp>
struct set_op {
  template <class ActionInput>
  static void apply(const ActionInput& in, ParseState& state) {
    state.condition.op = kOp;
    state.condition.op_span = state.span_of(in.begin(), in.end());
  }
};

template <>
struct action<rules::cmp_op> {
  template <class ActionInput>
  static void apply(const ActionInput& in, ParseState& state) {
    const std::string_view text = in.string_view();
    Op op = Op::Eq;
    if (text == "!=") {
      op = Op::Ne;
    } else if (text == "<") {
      op = Op::Lt;
    } else if (text == "<=") {
      op = Op::Le;
    } else if (text == ">") {
      op = Op::Gt;
    } else if (text == ">=") {
      op = Op::Ge;
    }
    state.condition.op = op;
    state.condition.op_span = state.span_of(in.begin(), in.end());
  }
};

template <>
struct action<rules::op_in> : set_op<Op::In> {};
template <>
struct action<rules::op_not_in> : set_op<Op::NotIn> {};
template <>
struct action<rules::op_is_set> : set_op<Op::IsSet> {};
template <>
struct action<rules::op_not_set> : set_op<Op::NotSet> {};

template <class ActionInput, class Value>
void push_literal(const ActionInput& in, ParseState& state, Value&& value) {
  state.condition.operands.push_back(
      Literal{std::forward<Value>(value), in.string(), state.span_of(in.begin(), in.end())});
}

struct quoted_action {
  template <class ActionInput>
  static void apply(const ActionInput& in, ParseState& state) {
    const std::string_view text = in.string_view();
    push_literal(in, state, std::string(text.substr(1, text.size() - 2)));
  }
};

template <>
struct action<rules::single_quoted> : quoted_action {};
template <>
struct action<rules::double_quoted> : quoted_action {};

template <>
struct action<rules::number_literal> {
  template <class ActionInput>
  static void apply(const ActionInput& in, ParseState& state) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(in.begin(), in.end(), value);
    if (ec != std::errc{} || ptr != in.end()) {
      const Span span = state.span_of(in.begin(), in.end());
      throw SyntaxError{DiagCode::P114, "number `{token}` is out of range",
                        "numbers must fit a double-precision value", span.begin, span.end};
    }
    push_literal(in, state, value);
  }
};

template <>
struct action<rules::true_literal> {
  template <class ActionInput>
  static void apply(const ActionInput& in, ParseState& state) {
    push_literal(in, state, true);
  }
};

template <>
struct action<rules::false_literal> {
  template <class ActionInput>
  static void apply(const ActionInput& in, ParseState& state) {
    push_literal(in, state, false);
  }
};

// Long or odd tokens stay readable in a one-line message; the span still covers all of it.
std::string quote_token(std::string_view token) {
  constexpr std::size_t kMaxToken = 40;
  if (token.size() <= kMaxToken) return std::string(token);
  std::size_t cut = kMaxToken;
  // Step back to a UTF-8 lead byte so the message stays valid UTF-8.
  while (cut > 0 && (static_cast<unsigned char>(token[cut]) & 0xC0U) == 0x80U) --cut;
  return std::string(token.substr(0, cut)) + "...";
}

std::string expand(std::string_view message, std::string_view token, const Condition& c) {
  std::string out;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const std::string_view rest = message.substr(i);
    if (rest.starts_with("{token}")) {
      out += quote_token(token);
      i += 6;
    } else if (rest.starts_with("{attr}")) {
      out += quote_token(c.attribute);
      i += 5;
    } else if (rest.starts_with("{op}")) {
      out += op_spelling(c.op);
      i += 3;
    } else {
      out += message[i];
    }
  }
  return out;
}

std::string_view type_name(const Literal& literal) {
  switch (literal.value.index()) {
    case 0:
      return "string";
    case 1:
      return "number";
    default:
      return "boolean";
  }
}

bool is_ordering(Op op) { return op == Op::Lt || op == Op::Le || op == Op::Gt || op == Op::Ge; }

// Checks that need the finished condition; spans are still offsets into the condition text.
std::optional<Diagnostic> check_shape(const Condition& c) {
  if (is_ordering(c.op) && !c.operands.empty() &&
      std::holds_alternative<bool>(c.operands.front().value)) {
    return make_error(DiagCode::P116, c.operands.front().span,
                      "operator `" + std::string(op_spelling(c.op)) + "` cannot compare booleans",
                      "ordering operators compare numbers and versions; use `==` or `!=`");
  }
  for (const auto& literal : c.operands) {
    if (literal.value.index() != c.operands.front().value.index()) {
      return make_error(DiagCode::P115, literal.span,
                        "list mixes " + std::string(type_name(c.operands.front())) + " and " +
                            std::string(type_name(literal)) + " values",
                        "an attribute has one type, so every value in the list must have it too");
    }
  }
  return std::nullopt;
}

// Trimmed extent of the condition (spaces and tabs around it are not part of it).
Span trimmed(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  return Span{static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end)};
}

}  // namespace

Parsed<Condition> parse(const SourceFile& file, std::string_view text, Span text_span,
                        bool verbatim) {
  // Positions are exact only when the decoded text is byte-for-byte the file's text.
  const bool exact = verbatim && text_span.end >= text_span.begin &&
                     text_span.end - text_span.begin == text.size();
  const auto to_file = [&](Span relative) {
    return exact ? Span{text_span.begin + relative.begin, text_span.begin + relative.end}
                 : text_span;
  };
  if (text.data() == nullptr) text = std::string_view("", 0);

  ParseState state{text.data(), {}};
  Parsed<Condition> out;
  try {
    const LineCol start = file.line_col(text_span.begin);
    tao::pegtl::memory_input<tao::pegtl::tracking_mode::lazy> in(
        text.data(), text.data() + text.size(), file.path(), text_span.begin, start.line,
        start.column);
    tao::pegtl::parse<rules::condition, action, control>(in, state);
  } catch (const SyntaxError& error) {
    const Span where{static_cast<std::uint32_t>(error.begin),
                     static_cast<std::uint32_t>(error.end)};
    out.diags.push_back(make_error(
        error.code, to_file(where),
        expand(error.message, text.substr(error.begin, error.end - error.begin), state.condition),
        error.help));
    return out;
  }

  Condition& c = state.condition;
  if (auto problem = check_shape(c)) {
    problem->span = to_file(problem->span);
    out.diags.push_back(std::move(*problem));
    return out;
  }
  c.span = to_file(trimmed(text));
  c.attribute_span = to_file(c.attribute_span);
  c.op_span =
      c.op == Op::Bare ? Span{c.attribute_span.end, c.attribute_span.end} : to_file(c.op_span);
  for (auto& literal : c.operands) literal.span = to_file(literal.span);
  out.value = std::move(c);
  return out;
}

}  // namespace postern::grammar::posture
