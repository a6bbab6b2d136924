// HuJSON parsing: PEGTL actions turn matches into calls on a consumer (the taocpp/json events
// pattern). The document builder, the standardizer and public Events users are all consumers;
// the grammar never sees json::Value.
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <tao/pegtl.hpp>
#include <vector>

#include "hujson_control.hpp"
#include "hujson_rules.hpp"
#include "postern/grammar/hujson.hpp"

namespace postern::grammar::hujson {
namespace detail {
namespace {

namespace pegtl = tao::pegtl;

template <class Out>
struct State {
  const char* base;
  Out* out;
  std::uint32_t depth = 0;                 // maintained by the control class
  std::vector<std::uint32_t> open_begins;  // offsets of the open `[` / `{`
  std::string scratch;                     // decoded strings that contain escapes

  [[nodiscard]] std::uint32_t offset(const char* p) const {
    return static_cast<std::uint32_t>(p - base);
  }
  template <class Input>
  [[nodiscard]] Span span(const Input& in) const {
    return Span{offset(in.begin()), offset(in.end())};
  }
};

unsigned hex_value(char c) {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
  return static_cast<unsigned>(c - 'A' + 10);
}

unsigned read_hex4(const char* p) {
  return (hex_value(p[0]) << 12U) | (hex_value(p[1]) << 8U) | (hex_value(p[2]) << 4U) |
         hex_value(p[3]);
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0U | (cp >> 6U));
    out += static_cast<char>(0x80U | (cp & 0x3FU));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0U | (cp >> 12U));
    out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
    out += static_cast<char>(0x80U | (cp & 0x3FU));
  } else {
    out += static_cast<char>(0xF0U | (cp >> 18U));
    out += static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU));
    out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
    out += static_cast<char>(0x80U | (cp & 0x3FU));
  }
}

// Decodes the body of a string literal the grammar has already validated (escapes well formed,
// surrogates paired), copying unescaped runs in one piece.
void decode_escapes(const char* p, const char* end, std::string& out) {
  out.clear();
  out.reserve(static_cast<std::size_t>(end - p));
  while (p < end) {
    const auto* slash =
        static_cast<const char*>(std::memchr(p, '\\', static_cast<std::size_t>(end - p)));
    if (slash == nullptr) {
      out.append(p, end);
      return;
    }
    out.append(p, slash);
    const char c = slash[1];
    p = slash + 2;
    switch (c) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned cp = read_hex4(p);
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // the grammar guarantees `\uDC00`-`\uDFFF` follows
          const unsigned low = read_hex4(p + 2);
          p += 6;
          cp = 0x10000U + ((cp - 0xD800U) << 10U) + (low - 0xDC00U);
        }
        append_utf8(out, cp);
        break;
      }
      default:  // `"`, `\` and `/` stand for themselves
        out += c;
        break;
    }
  }
}

template <class Rule>
struct action : pegtl::nothing<Rule> {};

template <>
struct action<rules::null_literal> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    st.out->null_value(st.span(in));
  }
};

template <>
struct action<rules::true_literal> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    st.out->bool_value(true, st.span(in));
  }
};

template <>
struct action<rules::false_literal> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    st.out->bool_value(false, st.span(in));
  }
};

template <>
struct action<rules::number> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    st.out->number_value(in.string_view(), st.span(in));
  }
};

// Calls `fn(decoded, verbatim)` for the string literal matched by `in` (quotes included).
template <class Input, class St, class Fn>
void with_string(const Input& in, St& st, Fn&& fn) {
  const char* body = in.begin() + 1;
  const char* end = in.end() - 1;
  const auto size = static_cast<std::size_t>(end - body);
  if (std::memchr(body, '\\', size) == nullptr) {
    fn(std::string_view(body, size), true);
  } else {
    decode_escapes(body, end, st.scratch);
    fn(std::string_view(st.scratch), false);
  }
}

template <>
struct action<rules::string_value> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    with_string(in, st, [&](std::string_view s, bool verbatim) {
      st.out->string_value(s, verbatim, st.span(in));
    });
  }
};

template <>
struct action<rules::expect_key> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    with_string(in, st,
                [&](std::string_view s, bool verbatim) { st.out->key(s, verbatim, st.span(in)); });
  }
};

template <>
struct action<rules::array_open> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    const auto begin = st.offset(in.begin());
    st.open_begins.push_back(begin);
    st.out->begin_array(begin);
  }
};

template <>
struct action<rules::array_close> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    const Span span{st.open_begins.back(), st.offset(in.end())};
    st.open_begins.pop_back();
    st.out->end_array(span);
  }
};

template <>
struct action<rules::object_open> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    const auto begin = st.offset(in.begin());
    st.open_begins.push_back(begin);
    st.out->begin_object(begin);
  }
};

template <>
struct action<rules::object_close> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    const Span span{st.open_begins.back(), st.offset(in.end())};
    st.open_begins.pop_back();
    st.out->end_object(span);
  }
};

template <>
struct action<rules::comment> {
  template <class Input, class St>
  static void apply(const Input& in, St& st) {
    st.out->comment(st.span(in));
  }
};

template <class Out>
std::optional<SyntaxError> run(std::string_view text, Out& out) {
  if (text.size() >= std::numeric_limits<std::uint32_t>::max()) {
    return SyntaxError{DiagCode::H022, 0, 0, "input too large: HuJSON input is limited to 4 GiB",
                       "split the document"};
  }
  pegtl::memory_input<pegtl::tracking_mode::lazy, pegtl::eol::lf_crlf, const char*> in(
      text.data(), text.size(), "");
  State<Out> st{text.data(), &out, 0, {}, {}};
  st.open_begins.reserve(64);
  try {
    pegtl::parse<rules::text, action, control>(in, st);
  } catch (SyntaxError& e) {
    return std::move(e);
  }
  return std::nullopt;
}

Diagnostic to_diagnostic(SyntaxError&& e) {
  return make_error(e.code, Span{e.begin, e.end}, std::move(e.message), std::move(e.help));
}

// Builds the json::Value tree: a stack of open containers, each finished value appended to the
// innermost one.
class DomBuilder final : public Events {
 public:
  DomBuilder() { stack_.reserve(32); }

  void null_value(Span span) override { push(scalar(json::Kind::Null, span)); }
  void bool_value(bool value, Span span) override {
    auto v = scalar(json::Kind::Bool, span);
    v.boolean = value;
    push(std::move(v));
  }
  void number_value(std::string_view text, Span span) override {
    auto v = scalar(json::Kind::Number, span);
    v.text.assign(text);
    v.number = hujson::number_value(text);
    push(std::move(v));
  }
  void string_value(std::string_view decoded, bool verbatim, Span span) override {
    auto v = scalar(json::Kind::String, span);
    v.text.assign(decoded);
    v.string_is_verbatim = verbatim;
    push(std::move(v));
  }
  void begin_array(std::uint32_t begin) override {
    stack_.push_back(scalar(json::Kind::Array, Span{begin, begin}));
  }
  void end_array(Span span) override { close(span); }
  void begin_object(std::uint32_t begin) override {
    stack_.push_back(scalar(json::Kind::Object, Span{begin, begin}));
  }
  void key(std::string_view decoded, bool /*verbatim*/, Span span) override {
    stack_.back().members.push_back(json::Member{std::string(decoded), span, {}});
  }
  void end_object(Span span) override { close(span); }

  json::Value take() { return std::move(result_); }

 private:
  static json::Value scalar(json::Kind kind, Span span) {
    json::Value v;
    v.kind = kind;
    v.span = span;
    return v;
  }
  void close(Span span) {
    json::Value v = std::move(stack_.back());
    stack_.pop_back();
    v.span = span;
    push(std::move(v));
  }
  void push(json::Value&& v) {
    if (stack_.empty()) {
      result_ = std::move(v);
    } else if (auto& top = stack_.back(); top.kind == json::Kind::Array) {
      top.items.push_back(std::move(v));
    } else {
      top.members.back().value = std::move(v);
    }
  }

  std::vector<json::Value> stack_;
  json::Value result_;
};

// Copies the text, blanking comments and trailing commas as they are reported.
class Standardizer final : public Events {
 public:
  explicit Standardizer(std::string text) : out_(std::move(text)) {}

  void null_value(Span span) override { last_end_ = span.end; }
  void bool_value(bool /*value*/, Span span) override { last_end_ = span.end; }
  void number_value(std::string_view /*text*/, Span span) override { last_end_ = span.end; }
  void string_value(std::string_view /*decoded*/, bool /*verbatim*/, Span span) override {
    last_end_ = span.end;
  }
  void begin_array(std::uint32_t begin) override { last_end_ = begin + 1; }
  void end_array(Span span) override { close(span); }
  void begin_object(std::uint32_t begin) override { last_end_ = begin + 1; }
  void key(std::string_view /*decoded*/, bool /*verbatim*/, Span /*span*/) override {}
  void end_object(Span span) override { close(span); }
  void comment(Span span) override {
    for (auto i = span.begin; i < span.end; ++i) {
      if (out_[i] != '\n' && out_[i] != '\r') out_[i] = ' ';
    }
  }

  std::string take() { return std::move(out_); }

 private:
  // Between the last element and the closing bracket only blanks and at most one comma remain
  // (comments were blanked already): that comma is the trailing one.
  void close(Span span) {
    for (auto i = last_end_; i + 1 < span.end; ++i) {
      if (out_[i] == ',') out_[i] = ' ';
    }
    last_end_ = span.end;
  }

  std::string out_;
  std::uint32_t last_end_ = 0;
};

}  // namespace
}  // namespace detail

double number_value(std::string_view text) {
  double value = 0.0;
  const char* first = text.data();
  const char* last = first + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec == std::errc() && ptr == last) return value;
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves the value untouched on overflow/underflow; strtod saturates to +-inf
    // or rounds to +-0, which is what a valid-but-huge literal should carry.
    const std::string copy(text);
    return std::strtod(copy.c_str(), nullptr);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

Parsed<json::Value> parse(const SourceFile& file) {
  Parsed<json::Value> result;
  detail::DomBuilder builder;
  if (auto error = detail::run(file.text(), builder)) {
    result.diags.push_back(detail::to_diagnostic(std::move(*error)));
    return result;
  }
  result.value = builder.take();
  return result;
}

std::optional<Diagnostic> parse_events(std::string_view text, Events& events) {
  if (auto error = detail::run(text, events)) return detail::to_diagnostic(std::move(*error));
  return std::nullopt;
}

Parsed<std::string> standardize(const SourceFile& file) {
  Parsed<std::string> result;
  detail::Standardizer standardizer(file.text());
  if (auto error = detail::run(file.text(), standardizer)) {
    result.diags.push_back(detail::to_diagnostic(std::move(*error)));
    return result;
  }
  result.value = standardizer.take();
  return result;
}

}  // namespace postern::grammar::hujson
