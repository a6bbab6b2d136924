#pragma once
// Located diagnostics shared by every stage: source files, byte spans, diagnostics, results.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::grammar {

// Half-open byte range [begin, end) into a SourceFile's text.
struct Span {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  friend bool operator==(const Span&, const Span&) = default;
};

enum class Severity { Error, Warning, Note };

enum class DiagCode : std::uint16_t {
#define POSTERN_DIAG(code, summary) code,
#include "postern/grammar/diag_codes.def"
#undef POSTERN_DIAG
};

// "H001" etc.
std::string_view code_name(DiagCode code);
// One-line summary from diag_codes.def.
std::string_view code_summary(DiagCode code);
// All codes in declaration order (for docs tables and tests).
std::vector<DiagCode> all_codes();

struct Label {
  Span span;
  std::string message;
};

// Message style: lowercase, no final period, one line, user text in backticks; advice in help.
struct Diagnostic {
  Severity severity = Severity::Error;
  DiagCode code = DiagCode::H001;
  std::string message;
  Span span;
  std::string help;
  std::vector<Label> related;
};

Diagnostic make_error(DiagCode code, Span span, std::string message, std::string help = {});
Diagnostic make_warning(DiagCode code, Span span, std::string message, std::string help = {});

// Result of a stage: a value when the stage succeeded, plus every diagnostic (warnings too).
template <class T>
struct Parsed {
  std::optional<T> value;
  std::vector<Diagnostic> diags;

  [[nodiscard]] bool ok() const { return value.has_value(); }
  [[nodiscard]] bool has_errors() const {
    for (const auto& d : diags) {
      if (d.severity == Severity::Error) return true;
    }
    return false;
  }
};

struct LineCol {
  std::uint32_t line = 1;    // 1-based
  std::uint32_t column = 1;  // 1-based byte column, as PEGTL counts
  friend bool operator==(const LineCol&, const LineCol&) = default;
};

// The bytes of one input with its line-start table, built once at construction so a shared
// SourceFile is safe to read from many threads (snapshots hand it to concurrent checks).
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] LineCol line_col(std::uint32_t byte) const;
  // The text of 1-based line `line` without its line terminator.
  [[nodiscard]] std::string_view line_text(std::uint32_t line) const;
  [[nodiscard]] std::string_view slice(Span span) const;

 private:
  std::string path_;
  std::string text_;
  std::vector<std::uint32_t> line_starts_;
};

// `path:line:col: error[CODE]: message`, the source line, a caret/underline, then `help:` lines.
std::string render(const SourceFile& file, const Diagnostic& diag);
// `text` for a terminal or a log line: control bytes (C0, DEL, and C1 as UTF-8 encodes them)
// become `?`, one per byte so a caret under the text still lines up; tabs stay. Raw, an ESC or
// CSI in a name drives the terminal that shows it, and a newline forges a line. `keep_newlines`:
// for a message made of lines (rendered diagnostics); `\r` still goes.
std::string printable(std::string_view text, bool keep_newlines = false);
// Render all, in order, separated by blank lines.
std::string render_all(const SourceFile& file, const std::vector<Diagnostic>& diags);
std::string_view severity_name(Severity severity);

}  // namespace postern::grammar
