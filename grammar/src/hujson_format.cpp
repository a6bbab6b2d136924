// HuJSON formatting with tailscale/hujson's rules. The parser's events are turned into a small
// syntax tree shaped like hujson's own (each value with the raw "extra" text - whitespace and
// comments - before and after it, each composite with the extra before its closing bracket and a
// trailing-comma flag), then the same passes run in the same order: normalise, decide which
// composites expand, format every extra, align object values, pack. Keeping hujson's shape is
// what makes the output byte-identical; each pass states the rule it applies.
#include "postern/grammar/hujson_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "postern/grammar/hujson.hpp"

namespace postern::grammar::hujson {
namespace {

constexpr std::size_t kPunchCardWidth = 80;  // hujson expands a composite with a longer line

// ---- text helpers (hujson's notion of whitespace is JSON's: space, tab, CR, LF) ----

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::size_t leading_space_length(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && is_json_space(s[n])) ++n;
  return n;
}

bool has_newline(std::string_view s) { return s.find('\n') != std::string_view::npos; }
bool has_comment(std::string_view s) { return leading_space_length(s) < s.size(); }
bool ends_with_newline(std::string_view s) { return !s.empty() && s.back() == '\n'; }

// Length of the comment that starts `s` (a line comment includes its newline); 0 when `s` does
// not start with a complete comment.
std::size_t comment_length(std::string_view s) {
  if (s.starts_with("//")) {
    const auto end = s.find('\n', 2);
    return end == std::string_view::npos ? 0 : end + 1;
  }
  if (s.starts_with("/*")) {
    const auto end = s.find("*/", 2);
    return end == std::string_view::npos ? 0 : end + 2;
  }
  return 0;
}

// True for the code points Go's unicode.IsSpace accepts (hujson trims comments with it).
bool is_unicode_space(std::uint32_t cp) {
  switch (cp) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// Byte length of the last UTF-8 character of `s` when it is a Unicode space, else 0.
std::size_t trailing_space_length(std::string_view s) {
  if (s.empty()) return 0;
  std::size_t start = s.size() - 1;
  while (start > 0 && s.size() - start < 4 &&
         (static_cast<unsigned char>(s[start]) & 0xC0U) == 0x80U) {
    --start;
  }
  const auto lead = static_cast<unsigned char>(s[start]);
  const std::size_t length = s.size() - start;
  std::uint32_t cp = 0;
  if (lead < 0x80U && length == 1) {
    cp = lead;
  } else if ((lead & 0xE0U) == 0xC0U && length == 2) {
    cp = lead & 0x1FU;
  } else if ((lead & 0xF0U) == 0xE0U && length == 3) {
    cp = lead & 0x0FU;
  } else if ((lead & 0xF8U) == 0xF0U && length == 4) {
    cp = lead & 0x07U;
  } else {
    return 0;  // not a whole character (the parser only lets valid UTF-8 through)
  }
  for (std::size_t i = start + 1; i < s.size(); ++i) {
    cp = (cp << 6U) | (static_cast<unsigned char>(s[i]) & 0x3FU);
  }
  return is_unicode_space(cp) ? length : 0;
}

std::string_view trim_right_space(std::string_view s) {
  while (const std::size_t n = trailing_space_length(s)) s.remove_suffix(n);
  return s;
}

void append_indent(std::string& out, int depth) {
  if (depth > 0) out.append(static_cast<std::size_t>(depth), '\t');
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  std::size_t at = 0;
  for (auto hit = s.find(from); hit != std::string::npos; hit = s.find(from, at)) {
    out.append(s, at, hit - at).append(to);
    at = hit + from.size();
  }
  out.append(s, at);
  s = std::move(out);
}

// hujson re-encodes a string literal that contains escapes from its decoded value: only `"`,
// `\` and control characters are escaped, named escapes where JSON has them, else \u00xx.
std::string quote_string(std::string_view decoded) {
  std::string out;
  out.reserve(decoded.size() + 2);
  out += '"';
  for (const char c : decoded) {
    switch (c) {
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20U) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// ---- formatting one extra (hujson's Extra.format) ----

struct ExtraRules {
  bool ensure_leading_newline = false;
  bool ensure_trailing_newline = false;
  bool remove_leading_empty_lines = false;
  bool remove_trailing_empty_lines = false;
  bool unindent_last_line = false;
  bool append_space_if_empty = false;
};

// A block comment spanning lines: trailing blanks trimmed from each line, the whitespace prefix
// the lines share replaced by the indentation, lines of a ` * `-style comment aligned under the
// opening `*`, a closing line of only `*/` aligned with the others.
void append_block_comment(std::string& out, std::string_view comment, int depth) {
  std::vector<std::string> lines;
  for (std::size_t at = 0;;) {
    const auto nl = comment.find('\n', at);
    lines.emplace_back(trim_right_space(comment.substr(at, nl - at)));
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  std::string first_line;  // first non-empty line after the one holding `/*`
  bool has_empty_line = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (first_line.empty() && !lines[i].empty() && i > 0) first_line = lines[i];
    has_empty_line = has_empty_line || lines[i].empty();
  }
  // The prefix shrinks at the first differing byte only; a shorter line that matches all the
  // way leaves it as it is (hujson's rule, kept for identical output).
  std::string prefix = first_line;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string& line = lines[i];
    if (line.empty()) continue;
    if (line.ends_with("*/") && leading_space_length(line) + 2 == line.size()) {
      line = prefix.substr(0, leading_space_length(prefix)) + "*/";
      break;
    }
    for (std::size_t j = 0; j < line.size() && j < prefix.size(); ++j) {
      if (line[j] != prefix[j]) {
        prefix.resize(j);
        break;
      }
    }
  }
  const std::size_t prefix_length = leading_space_length(prefix);
  const bool star_aligned =
      !has_empty_line && prefix.size() > prefix_length && prefix[prefix_length] == '*';
  out += lines.front();
  out += '\n';
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (!lines[i].empty()) {
      append_indent(out, depth);
      if (star_aligned) out += ' ';
      out.append(lines[i], prefix_length);
    }
    out += '\n';
  }
  while (ends_with_newline(out)) out.pop_back();
}

std::string format_extra(std::string_view raw, int depth, const ExtraRules& rules) {
  std::string in(raw);
  if (in.find('\r') != std::string::npos) {  // CRLF, LFCR and lone CR, as hujson normalises them
    replace_all(in, "\r\n", "\n");
    replace_all(in, "\n\r", "\n");
    replace_all(in, "\r", " ");
  }
  std::string out;
  if (rules.ensure_leading_newline && !has_newline(in)) out += '\n';
  std::string_view rest = in;
  while (!rest.empty()) {
    if (const std::size_t n = leading_space_length(rest); n > 0) {
      const auto newlines =
          std::count(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n), '\n');
      out.append(static_cast<std::size_t>(std::min<std::ptrdiff_t>(newlines, 2)), '\n');
      rest.remove_prefix(n);
      continue;
    }
    const std::size_t n = comment_length(rest);
    if (n == 0) return in;  // not reachable for parsed input; hujson leaves such text alone
    if (ends_with_newline(out)) {
      append_indent(out, depth);
    } else {
      out += ' ';
    }
    const std::string_view comment = rest.substr(0, n);
    const bool line_comment = comment.starts_with("//");
    if (line_comment || !has_newline(comment)) {
      out += trim_right_space(comment);
      rest.remove_prefix(line_comment ? n - 1 : n);  // a line comment's newline is whitespace
      continue;
    }
    append_block_comment(out, comment, depth);
    rest.remove_prefix(n);
  }
  if (rules.ensure_trailing_newline && !ends_with_newline(out)) out += '\n';
  while (rules.remove_leading_empty_lines && out.starts_with("\n\n")) out.erase(0, 1);
  while (rules.remove_trailing_empty_lines && out.ends_with("\n\n")) out.pop_back();
  if (ends_with_newline(out)) {
    append_indent(out, rules.unindent_last_line ? depth - 1 : depth);
  } else if (!out.empty()) {
    out += ' ';
  }
  if (rules.append_space_if_empty && out.empty()) out += ' ';
  return out;
}

// ---- the syntax tree ----

enum class NodeKind : std::uint8_t { Literal, Object, Array };

struct Node {
  NodeKind kind = NodeKind::Literal;
  std::string before;   // extra after the preceding `{`, `[`, `:`, `,` or the start of input
  std::string literal;  // a literal's text
  std::string after;    // extra before the following `:`, `,` or the end of input
  // A composite's elements, or its member names and values interleaved (names are literals).
  std::vector<Node> children;
  std::string closing;  // extra before `}` / `]`, after the trailing comma if there is one
  bool trailing_comma = false;
  bool expand = false;  // one member per line

  [[nodiscard]] bool composite() const { return kind != NodeKind::Literal; }
};

// Builds the tree from parse events. Extras are the text between tokens; the `,` or `:` in a
// gap is its only byte outside whitespace and comments, so the comment spans reported since the
// last token are enough to find it.
class TreeBuilder final : public Events {
 public:
  explicit TreeBuilder(std::string_view text) : text_(text) { open_.reserve(32); }

  void null_value(Span span) override { add_literal(span, std::string(slice(span))); }
  void bool_value(bool /*value*/, Span span) override {
    add_literal(span, std::string(slice(span)));
  }
  void number_value(std::string_view /*text*/, Span span) override {
    add_literal(span, std::string(slice(span)));
  }
  void string_value(std::string_view decoded, bool verbatim, Span span) override {
    add_literal(span, verbatim ? std::string(slice(span)) : quote_string(decoded));
  }
  void key(std::string_view decoded, bool verbatim, Span span) override {
    add_literal(span, verbatim ? std::string(slice(span)) : quote_string(decoded));
  }
  void begin_array(std::uint32_t begin) override { open(NodeKind::Array, begin); }
  void begin_object(std::uint32_t begin) override { open(NodeKind::Object, begin); }
  void end_array(Span span) override { close(span); }
  void end_object(Span span) override { close(span); }
  void comment(Span span) override {
    comments_.push_back(span);
    saw_comment_ = true;
  }

  // Standard JSON (no comment, no trailing comma) stays standard: no trailing commas are added.
  [[nodiscard]] bool standard() const { return !saw_comment_ && !saw_trailing_comma_; }

  Node take_root() {
    root_.after = std::string(text_.substr(cursor_));
    return std::move(root_);
  }

 private:
  std::string_view slice(Span span) const {
    return text_.substr(span.begin, span.end - span.begin);
  }

  // Offset of the `,` or `:` in [cursor_, end), or `end` when there is none.
  std::uint32_t separator_before(std::uint32_t end) const {
    std::uint32_t from = cursor_;
    for (const Span& c : comments_) {
      const auto hit = text_.substr(from, c.begin - from).find_first_of(",:");
      if (hit != std::string_view::npos) return from + static_cast<std::uint32_t>(hit);
      from = c.end;
    }
    const auto hit = text_.substr(from, end - from).find_first_of(",:");
    return hit == std::string_view::npos ? end : from + static_cast<std::uint32_t>(hit);
  }

  // The extra before a token starting at `start`; the part of the gap before a separator
  // belongs to the previous sibling (a member name or an element/value).
  std::string leading_extra(std::uint32_t start) {
    if (open_.empty() || open_.back().children.empty()) {
      return std::string(text_.substr(cursor_, start - cursor_));
    }
    const std::uint32_t separator = separator_before(start);
    open_.back().children.back().after = std::string(text_.substr(cursor_, separator - cursor_));
    return std::string(text_.substr(separator + 1, start - separator - 1));
  }

  void advance(std::uint32_t to) {
    cursor_ = to;
    comments_.clear();
  }

  void attach(Node&& node) {
    if (open_.empty()) {
      root_ = std::move(node);
    } else {
      open_.back().children.push_back(std::move(node));
    }
  }

  void add_literal(Span span, std::string literal) {
    Node node;
    node.before = leading_extra(span.begin);
    node.literal = std::move(literal);
    advance(span.end);
    attach(std::move(node));
  }

  void open(NodeKind kind, std::uint32_t begin) {
    Node node;
    node.kind = kind;
    node.before = leading_extra(begin);
    open_.push_back(std::move(node));
    advance(begin + 1);
  }

  void close(Span span) {
    Node& node = open_.back();
    const std::uint32_t bracket = span.end - 1;
    const std::uint32_t separator = node.children.empty() ? bracket : separator_before(bracket);
    if (separator == bracket) {
      node.closing = std::string(text_.substr(cursor_, bracket - cursor_));
    } else {
      node.children.back().after = std::string(text_.substr(cursor_, separator - cursor_));
      node.closing = std::string(text_.substr(separator + 1, bracket - separator - 1));
      node.trailing_comma = true;
      saw_trailing_comma_ = true;
    }
    advance(span.end);
    Node done = std::move(open_.back());
    open_.pop_back();
    attach(std::move(done));
  }

  std::string_view text_;
  std::uint32_t cursor_ = 0;  // end of the last token
  std::vector<Span> comments_;
  std::vector<Node> open_;
  Node root_;
  bool saw_comment_ = false;
  bool saw_trailing_comma_ = false;
};

// ---- the passes, in hujson's order (recursion depth is bounded by hujson::kMaxDepth) ----

// Empty composites with only whitespace inside become `{}` / `[]`; whitespace between a name and
// its colon or a value and its comma goes. A trailing comma with only whitespace before it is
// dropped here and re-added below if the composite expands.
void normalize(Node& node) {
  if (!node.composite()) return;
  if (node.children.empty()) {
    if (!has_comment(node.closing)) node.closing.clear();
    return;
  }
  for (Node& child : node.children) {
    if (!has_comment(child.after)) child.after.clear();
  }
  if (node.trailing_comma && node.children.back().after.empty()) node.trailing_comma = false;
  for (Node& child : node.children) normalize(child);
}

// Widths on the first and last line of a piece of text, and whether it spans lines.
struct LineStats {
  std::size_t first = 0;
  std::size_t last = 0;
  bool multiline = false;
};

// hujson's approximate width of the comments in one line of an extra (a space before each).
std::size_t comment_width(std::string_view s) {
  std::size_t n = 0;
  for (;;) {
    s.remove_prefix(leading_space_length(s));
    if (s.starts_with("//")) return n + 1 + s.size();
    if (s.starts_with("/*")) {
      const auto end = s.find("*/", 2);
      if (end == std::string_view::npos) return n + 1 + s.size();  // continues on the next line
      n += 1 + end + 2;
      s.remove_prefix(end + 2);
      continue;
    }
    return n > 0 ? n + 1 : n;
  }
}

LineStats extra_stats(std::string_view extra) {
  const auto first_nl = extra.find('\n');
  if (first_nl == std::string_view::npos) {
    const std::size_t n = comment_width(extra);
    return {n, n, false};
  }
  return {comment_width(extra.substr(0, first_nl)),
          comment_width(extra.substr(extra.rfind('\n') + 1)), true};
}

// Decides which composites expand: any newline right after `{`, `[` or `,` or right before the
// closing bracket, or a line (as it would be printed inline) wider than 80 bytes. Returns the
// node's line statistics as laid out.
LineStats mark_expanded(Node& node) {
  if (!node.composite()) return {node.literal.size(), node.literal.size(), false};
  const bool is_object = node.kind == NodeKind::Object;
  bool expand = false;
  std::size_t line = 1;  // the opening bracket
  std::vector<std::size_t> lines;
  const auto add = [&](const LineStats& s) {
    line += s.first;
    if (s.multiline) {
      lines.push_back(line);
      line = s.last;
    }
  };
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    Node& child = node.children[i];
    const bool is_name = is_object && i % 2 == 0;
    if (is_name || !is_object) expand = expand || has_newline(child.before);
    add(extra_stats(child.before));
    add(mark_expanded(child));
    add(extra_stats(child.after));
    line += 2;  // ": " after a name, ", " after a value
  }
  line += 1;  // the closing bracket
  if (!node.children.empty()) expand = expand || has_newline(node.children.back().after);
  expand = expand || has_newline(node.closing);
  lines.push_back(line);
  LineStats stats{lines.front(), lines.back(), lines.size() > 1};
  expand = expand || std::any_of(lines.begin(), lines.end(),
                                 [](std::size_t width) { return width > kPunchCardWidth; });
  if (!expand) return stats;
  node.expand = true;
  const std::string_view first_extra =
      node.children.empty() ? std::string_view(node.closing) : node.children.front().before;
  return {1 + extra_stats(first_extra).first, 1, true};
}

ExtraRules before_member(bool expand, std::size_t index) {
  ExtraRules rules;
  rules.ensure_leading_newline = expand;
  rules.remove_leading_empty_lines = index == 0;
  rules.append_space_if_empty = index != 0;
  return rules;
}

ExtraRules inside_member(bool append_space_if_empty) {
  ExtraRules rules;
  rules.remove_leading_empty_lines = true;
  rules.remove_trailing_empty_lines = true;
  rules.append_space_if_empty = append_space_if_empty;
  return rules;
}

void format_whitespace(Node& node, int depth, bool standard);

void format_object_members(Node& node, int depth, bool standard) {
  const int value_depth = node.expand ? depth + 1 : depth;
  for (std::size_t i = 0; i + 1 < node.children.size(); i += 2) {
    Node& name = node.children[i];
    Node& value = node.children[i + 1];
    name.before = format_extra(name.before, depth + 1, before_member(node.expand, i / 2));
    name.after = format_extra(name.after, depth + 2, inside_member(false));
    value.before = format_extra(value.before, depth + 2, inside_member(true));
    // A value on its own line below its name is indented one more level.
    const bool value_below = has_newline(name.after) || has_newline(value.before);
    format_whitespace(value, value_below ? value_depth + 1 : value_depth, standard);
    value.after = format_extra(value.after, depth + 2, inside_member(false));
  }
}

void format_array_elements(Node& node, int depth, bool standard) {
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    Node& element = node.children[i];
    element.before = format_extra(element.before, depth + 1, before_member(node.expand, i));
    format_whitespace(element, node.expand ? depth + 1 : depth, standard);
    element.after = format_extra(element.after, depth + 2, inside_member(false));
  }
}

// Indents every extra for its depth, puts expanded members on their own lines and settles the
// trailing comma: none on one line (unless comments sit on both sides of it), always on an
// expanded composite unless the input was standard JSON.
void format_whitespace(Node& node, int depth, bool standard) {
  if (!node.composite()) return;
  if (node.kind == NodeKind::Object) {
    format_object_members(node, depth, standard);
  } else {
    format_array_elements(node, depth, standard);
  }
  ExtraRules closing_rules;
  closing_rules.ensure_trailing_newline = node.expand;
  closing_rules.remove_leading_empty_lines = node.children.empty();
  closing_rules.remove_trailing_empty_lines = true;
  closing_rules.unindent_last_line = true;
  node.closing = format_extra(node.closing, depth + 1, closing_rules);
  if (node.children.empty()) return;
  Node& last = node.children.back();
  const bool comma_between_comments = !last.after.empty() && !node.closing.empty();
  if (!node.expand && !comma_between_comments) {
    if (node.trailing_comma) {
      node.closing = last.after + node.closing;
      last.after.clear();
      node.trailing_comma = false;
    }
  } else if (node.expand && !standard) {
    node.trailing_comma = true;
  }
}

// hujson's Value.hasNewline(false): a newline in any extra inside the composite's members
// (not counting the extra before its own closing bracket).
bool members_have_newline(const Node& node) {
  return std::any_of(node.children.begin(), node.children.end(), [](const Node& child) {
    return has_newline(child.before) || has_newline(child.after) || members_have_newline(child);
  });
}

// Lines up the values of consecutive single-line members that each start on their own line; a
// blank line or comment line before a member starts a new run.
void align_object_values(Node& node) {
  if (node.kind == NodeKind::Object) {
    std::vector<std::pair<std::string*, std::size_t>> rows;
    const auto align_rows = [&rows] {
      std::size_t widest = 0;
      for (const auto& row : rows) widest = std::max(widest, row.second);
      for (auto& [extra, width] : rows) extra->append(widest - width, ' ');
      rows.clear();
    };
    for (std::size_t i = 0; i + 1 < node.children.size(); i += 2) {
      const Node& name = node.children[i];
      Node& value = node.children[i + 1];
      if (!has_newline(name.before) || has_newline(name.after) || has_newline(value.before) ||
          members_have_newline(value) || has_newline(value.after)) {
        align_rows();
        continue;
      }
      if (std::count(name.before.begin(), name.before.end(), '\n') > 1) align_rows();
      rows.emplace_back(&value.before,
                        name.literal.size() + name.after.size() + 1 + value.before.size());
    }
    align_rows();
  }
  for (Node& child : node.children) align_object_values(child);
}

void pack(const Node& node, std::string& out) {
  out += node.before;
  if (node.composite()) {
    const bool is_object = node.kind == NodeKind::Object;
    out += is_object ? '{' : '[';
    for (std::size_t i = 0; i < node.children.size(); ++i) {
      pack(node.children[i], out);
      if (is_object && i % 2 == 0) {
        out += ':';
      } else if (i + 1 < node.children.size() || node.trailing_comma) {
        out += ',';
      }
    }
    out += node.closing;
    out += is_object ? '}' : ']';
  } else {
    out += node.literal;
  }
  out += node.after;
}

}  // namespace

Parsed<std::string> format(std::string_view text) {
  Parsed<std::string> result;
  TreeBuilder builder(text);
  if (auto error = parse_events(text, builder)) {
    result.diags.push_back(std::move(*error));
    return result;
  }
  Node root = builder.take_root();
  root.before = format_extra(root.before, 0, {});
  root.before.erase(0, leading_space_length(root.before));
  normalize(root);
  mark_expanded(root);
  format_whitespace(root, 0, builder.standard());
  align_object_values(root);
  root.after = std::string(trim_right_space(format_extra(root.after, 0, {}))) + '\n';

  std::string out;
  out.reserve(text.size() + text.size() / 8 + 16);
  pack(root, out);
  result.value = std::move(out);
  return result;
}

}  // namespace postern::grammar::hujson
