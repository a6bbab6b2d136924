// `postern hujson FILE [--check]`: HuJSON to standard JSON (comments and trailing commas
// removed), streamed: the file is memory-mapped and parse events go straight to the output, so
// a 100 MiB input needs no document tree and only a bounded amount of resident memory.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "command_registry.hpp"
#include "postern/grammar/hujson.hpp"

namespace postern::app {
namespace {

namespace hujson = grammar::hujson;
using grammar::Span;

struct HujsonOptions {
  std::string file;
  bool check_only = false;
};

// The input bytes: a read-only private mapping of a regular file, or (for `-` and other
// unmappable inputs) a string read in full.
class InputText {
 public:
  InputText() = default;
  InputText(const InputText&) = delete;
  InputText& operator=(const InputText&) = delete;
  InputText(InputText&&) = delete;
  InputText& operator=(InputText&&) = delete;
  ~InputText() {
    if (map_ != nullptr) ::munmap(map_, size_);
  }

  // Empty string on success, otherwise the reason.
  std::string open(const std::string& path) {
    if (path == "-") return read_stream(std::cin);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::strerror(errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      return reason;
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      return "is a directory";
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
      size_ = static_cast<std::size_t>(st.st_size);
      void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      ::close(fd);
      if (map == MAP_FAILED) return std::strerror(errno);
      map_ = map;
      ::madvise(map_, size_, MADV_SEQUENTIAL);
      return {};
    }
    ::close(fd);
    if (S_ISREG(st.st_mode)) return {};  // an empty file: the parser reports it
    std::ifstream in(path, std::ios::binary);
    if (!in) return "cannot open";
    return read_stream(in);
  }

  [[nodiscard]] std::string_view text() const {
    if (map_ != nullptr) return {static_cast<const char*>(map_), size_};
    return owned_;
  }

  // Drops the mapped pages well before `offset` from memory: the parser never looks back
  // except to locate an error, and then the kernel simply reads them again.
  void release_before(std::uint32_t offset) {
    if (map_ == nullptr || offset < released_ + kReleaseStep) return;
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t upto = (offset - kReleaseStep / 2) / page * page;
    if (upto <= released_) return;
    ::madvise(static_cast<char*>(map_) + released_, upto - released_, MADV_DONTNEED);
    released_ = upto;
  }

  void reset_release() { released_ = 0; }

 private:
  static constexpr std::size_t kReleaseStep = 8U << 20U;

  std::string read_stream(std::istream& in) {
    owned_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return "read error";
    return {};
  }

  void* map_ = nullptr;
  std::size_t size_ = 0;
  std::size_t released_ = 0;
  std::string owned_;
};

// Forwards events to an optional writer and releases consumed input pages as it goes.
class StreamingPass final : public hujson::Events {
 public:
  StreamingPass(InputText& input, hujson::JsonWriter* writer) : input_(input), writer_(writer) {}

  void null_value(Span span) override {
    if (writer_ != nullptr) writer_->null_value(span);
    input_.release_before(span.begin);
  }
  void bool_value(bool value, Span span) override {
    if (writer_ != nullptr) writer_->bool_value(value, span);
    input_.release_before(span.begin);
  }
  void number_value(std::string_view text, Span span) override {
    if (writer_ != nullptr) writer_->number_value(text, span);
    input_.release_before(span.begin);
  }
  void string_value(std::string_view decoded, bool verbatim, Span span) override {
    if (writer_ != nullptr) writer_->string_value(decoded, verbatim, span);
    input_.release_before(span.begin);
  }
  void begin_array(std::uint32_t begin) override {
    if (writer_ != nullptr) writer_->begin_array(begin);
  }
  void end_array(Span span) override {
    if (writer_ != nullptr) writer_->end_array(span);
    input_.release_before(span.end);
  }
  void begin_object(std::uint32_t begin) override {
    if (writer_ != nullptr) writer_->begin_object(begin);
  }
  void key(std::string_view decoded, bool verbatim, Span span) override {
    if (writer_ != nullptr) writer_->key(decoded, verbatim, span);
  }
  void end_object(Span span) override {
    if (writer_ != nullptr) writer_->end_object(span);
    input_.release_before(span.end);
  }

 private:
  InputText& input_;
  hujson::JsonWriter* writer_;
};

// Renders `diag` with the shared renderer against just the offending line (capped around the
// error), so reporting an error in a huge file does not copy the file.
std::string render_excerpt(const std::string& path, std::string_view text,
                           const grammar::Diagnostic& diag) {
  constexpr std::size_t kContext = 200;
  const std::size_t at = std::min<std::size_t>(diag.span.begin, text.size());
  std::size_t line = 1;
  std::size_t line_begin = 0;
  for (std::size_t i = 0; i < at;) {
    const void* nl = std::memchr(text.data() + i, '\n', at - i);
    if (nl == nullptr) break;
    i = static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) + 1;
    ++line;
    line_begin = i;
  }
  const std::size_t column = at - line_begin + 1;
  std::size_t line_end = text.find('\n', at);
  if (line_end == std::string_view::npos) line_end = text.size();
  const std::size_t from = at - line_begin > kContext ? at - kContext : line_begin;
  const std::size_t to = std::min(line_end, at + kContext);
  grammar::SourceFile excerpt(path, std::string(text.substr(from, to - from)));
  grammar::Diagnostic local = diag;
  local.span.begin = static_cast<std::uint32_t>(at - from);
  local.span.end = static_cast<std::uint32_t>(std::min<std::size_t>(diag.span.end, to) - from);
  std::string out = grammar::render(excerpt, local);
  // Put the real position back into the `path:line:col:` header.
  const std::string local_header = path + ":1:" + std::to_string(at - from + 1) + ":";
  const std::string real_header =
      path + ":" + std::to_string(line) + ":" + std::to_string(column) + ":";
  if (out.rfind(local_header, 0) == 0) out.replace(0, local_header.size(), real_header);
  return out;
}

int run_hujson(const HujsonOptions& options) {
  InputText input;
  if (const std::string reason = input.open(options.file); !reason.empty()) {
    std::cerr << "postern hujson: error[C701]: cannot read `" << options.file << "`: " << reason
              << "\n";
    return kExitUsage;
  }
  const std::string_view text = input.text();
  const std::string display = options.file == "-" ? "<stdin>" : options.file;

  // Pass 1 validates without output, so invalid input never leaves partial JSON on stdout.
  StreamingPass validate(input, nullptr);
  if (const auto error = hujson::parse_events(text, validate)) {
    std::cerr << render_excerpt(display, text, *error);
    return kExitFailed;
  }
  if (options.check_only) return kExitOk;

  // Pass 2 writes.
  input.reset_release();
  bool write_failed = false;
  hujson::JsonWriter writer([&](std::string_view chunk) {
    if (!write_failed && std::fwrite(chunk.data(), 1, chunk.size(), stdout) != chunk.size()) {
      write_failed = true;
    }
  });
  StreamingPass write(input, &writer);
  if (const auto error = hujson::parse_events(text, write)) {  // cannot differ from pass 1
    std::cerr << render_excerpt(display, text, *error);
    return kExitFailed;
  }
  writer.flush();
  if (std::fputc('\n', stdout) == EOF || std::fflush(stdout) != 0) write_failed = true;
  if (write_failed) {
    std::cerr << "postern hujson: error[C701]: cannot write the output: " << std::strerror(errno)
              << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

const CommandRegistration kHujsonCommand{
    60, [](CLI::App& root, int& exit_code) {
      auto options = std::make_shared<HujsonOptions>();
      auto* cmd = root.add_subcommand(
          "hujson",
          "Convert a HuJSON file (JSON with `//` and `/* */` comments and one trailing comma)\n"
          "to standard JSON on stdout: compact, comments and trailing commas removed, numbers\n"
          "exactly as written (so huge numbers survive), strings re-escaped. The file is\n"
          "checked completely before anything is written, so invalid input never produces\n"
          "partial output. Large files are streamed from a memory mapping without building a\n"
          "document tree.\n"
          "Exit status: 0 valid, 1 invalid HuJSON (one located error on stderr),\n"
          "2 usage or I/O error.");
      cmd->add_option("file", options->file, "HuJSON file to convert; `-` reads standard input")
          ->required()
          ->type_name("FILE");
      cmd->add_flag("--check", options->check_only,
                    "Only check the syntax; print nothing on success");
      cmd->footer(
          "Examples:\n"
          "  postern hujson policy.hujson > policy.json\n"
          "  postern hujson --check policy.hujson\n"
          "  cat policy.hujson | postern hujson -\n");
      cmd->callback([options, &exit_code] { exit_code = run_hujson(*options); });
    }};

}  // namespace
}  // namespace postern::app
