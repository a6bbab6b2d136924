#include "postern/grammar/diag.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace postern::grammar {
namespace {

struct CodeInfo {
  DiagCode code;
  std::string_view name;
  std::string_view summary;
};

constexpr std::array kCodes = {
#define POSTERN_DIAG(code, summary) CodeInfo{DiagCode::code, #code, summary},
#include "postern/grammar/diag_codes.def"
#undef POSTERN_DIAG
};

const CodeInfo* find_code(DiagCode code) {
  for (const auto& info : kCodes) {
    if (info.code == code) return &info;
  }
  return nullptr;
}

}  // namespace

std::string_view code_name(DiagCode code) {
  const auto* info = find_code(code);
  return info != nullptr ? info->name : std::string_view{"?"};
}

std::string_view code_summary(DiagCode code) {
  const auto* info = find_code(code);
  return info != nullptr ? info->summary : std::string_view{};
}

std::vector<DiagCode> all_codes() {
  std::vector<DiagCode> out;
  out.reserve(kCodes.size());
  for (const auto& info : kCodes) out.push_back(info.code);
  return out;
}

Diagnostic make_error(DiagCode code, Span span, std::string message, std::string help) {
  return Diagnostic{Severity::Error, code, std::move(message), span, std::move(help), {}};
}

Diagnostic make_warning(DiagCode code, Span span, std::string message, std::string help) {
  return Diagnostic{Severity::Warning, code, std::move(message), span, std::move(help), {}};
}

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(static_cast<std::uint32_t>(i + 1));
  }
}

LineCol SourceFile::line_col(std::uint32_t byte) const {
  byte = std::min<std::uint32_t>(byte, static_cast<std::uint32_t>(text_.size()));
  const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), byte);
  const auto line_index = static_cast<std::uint32_t>(it - line_starts_.begin() - 1);
  return LineCol{line_index + 1, byte - line_starts_[line_index] + 1};
}

std::string_view SourceFile::line_text(std::uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  const std::size_t begin = line_starts_[line - 1];
  std::size_t end = line < line_starts_.size() ? line_starts_[line] : text_.size();
  while (end > begin && (text_[end - 1] == '\n' || text_[end - 1] == '\r')) --end;
  return std::string_view(text_).substr(begin, end - begin);
}

std::string_view SourceFile::slice(Span span) const {
  const auto size = static_cast<std::uint32_t>(text_.size());
  const auto begin = std::min(span.begin, size);
  const auto end = std::clamp(span.end, begin, size);
  return std::string_view(text_).substr(begin, end - begin);
}

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::Error:
      return "error";
    case Severity::Warning:
      return "warning";
    case Severity::Note:
      return "note";
  }
  return "error";
}

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto byte = static_cast<unsigned char>(out[i]);
    const bool c1 = byte == 0xc2 && i + 1 < out.size() &&
                    static_cast<unsigned char>(out[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(out[i + 1]) <= 0x9f;
    if (c1) {
      out[i] = '?';
      out[++i] = '?';
    } else if ((byte < 0x20 && byte != '\t' && !(keep_newlines && byte == '\n')) || byte == 0x7f) {
      out[i] = '?';
    }
  }
  return out;
}

std::string render(const SourceFile& file, const Diagnostic& diag) {
  const LineCol at = file.line_col(diag.span.begin);
  std::string out = printable(file.path()) + ":" + std::to_string(at.line) + ":" +
                    std::to_string(at.column) + ": " + std::string(severity_name(diag.severity)) +
                    "[" + std::string(code_name(diag.code)) + "]: " + printable(diag.message) +
                    "\n";
  const std::string_view line = file.line_text(at.line);
  if (!file.text().empty()) {
    out += "  ";
    out += printable(line);
    out += "\n  ";
    // Keep tabs so the caret lines up with the echoed source line.
    for (std::uint32_t i = 0; i + 1 < at.column && i < line.size(); ++i) {
      out += line[i] == '\t' ? '\t' : ' ';
    }
    std::size_t width = 1;
    if (diag.span.end > diag.span.begin) {
      const std::size_t room = line.size() >= at.column ? line.size() - (at.column - 1) : 1;
      width = std::clamp<std::size_t>(diag.span.end - diag.span.begin, 1,
                                      std::max<std::size_t>(room, 1));
    }
    out += '^';
    out.append(width - 1, '~');
    out += '\n';
  }
  for (const auto& label : diag.related) {
    const LineCol rel = file.line_col(label.span.begin);
    out += "  note: " + printable(file.path()) + ":" + std::to_string(rel.line) + ":" +
           std::to_string(rel.column) + ": " + printable(label.message) + "\n";
  }
  if (!diag.help.empty()) out += "  help: " + printable(diag.help) + "\n";
  return out;
}

std::string render_all(const SourceFile& file, const std::vector<Diagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) out += render(file, d);
  return out;
}

}  // namespace postern::grammar
