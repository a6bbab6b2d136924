// `postern fmt [FILE...] [--check | -w]`: gofmt for policy files, with the rules of
// tailscale/hujson's Format (the text whose SHA-256 is the policy's ETag). A file that does not
// parse is reported like `postern validate` reports it and never rewritten.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "postern/control/text_file.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/grammar/hujson_format.hpp"

namespace postern::app {
namespace {

namespace fs = std::filesystem;

struct FmtOptions {
  std::vector<std::string> files;
  bool check = false;
  bool write = false;
};

// What happened to one input; the command exits with the worst.
enum class Outcome { Formatted, Unformatted, Invalid, IoError };

void print_io_error(std::string_view what) {
  fmt::print(stderr, "postern fmt: error[C701]: {}\n", what);
}

// The whole input, or nullopt (after printing why).
std::optional<std::string> read_input(const std::string& path) {
  auto text = path == "-" ? control::read_text_stream(std::cin, "standard input", "policy",
                                                      control::kMaxPolicyFileBytes)
                          : control::read_text_file(path, "policy", control::kMaxPolicyFileBytes);
  if (!text) {
    print_io_error(grammar::printable(text.error().message));
    return std::nullopt;
  }
  return std::move(text.value());
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Replaces `path` (a symlink is followed: its target is replaced) with `text` atomically: a
// temporary file in the same directory gets the text, the old mode and owner, is flushed to
// disk and renamed over the original, so readers see the old or the new file, never a mix.
// Empty on success, otherwise the reason.
std::string replace_file(const std::string& path, const std::string& text) {
  std::error_code ec;
  const fs::path target = fs::canonical(path, ec);
  if (ec) return ec.message();
  struct stat original {};
  if (::stat(target.c_str(), &original) != 0) return std::strerror(errno);
  std::string temp =
      (target.parent_path() / ("." + target.filename().string() + ".fmt-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0)
    return fmt::format("cannot create a temporary file next to it: {}", std::strerror(errno));
  const auto fail = [&](const char* step) {
    const std::string reason = fmt::format("{}: {}", step, std::strerror(errno));
    ::close(fd);
    ::unlink(temp.c_str());
    return reason;
  };
  if (!write_all(fd, text)) return fail("cannot write the temporary file");
  if (::fchmod(fd, original.st_mode & 07777U) != 0) return fail("cannot set the file mode");
  // Keeping the owner needs privileges; as an ordinary user the file is already ours.
  if (original.st_uid != ::geteuid() || original.st_gid != ::getegid()) {
    (void)::fchown(fd, original.st_uid, original.st_gid);
  }
  if (::fsync(fd) != 0) return fail("cannot flush the temporary file");
  if (::close(fd) != 0) {
    const std::string reason =
        fmt::format("cannot close the temporary file: {}", std::strerror(errno));
    ::unlink(temp.c_str());
    return reason;
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const std::string reason = fmt::format("cannot replace the file: {}", std::strerror(errno));
    ::unlink(temp.c_str());
    return reason;
  }
  // Make the rename itself durable.
  if (const int dir = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return {};
}

Outcome format_one(const std::string& path, const FmtOptions& options) {
  const std::string display = path == "-" ? "<stdin>" : path;
  const auto text = read_input(path);
  if (!text) return Outcome::IoError;
  auto formatted = grammar::hujson::format(*text);
  if (!formatted.ok()) {
    const grammar::SourceFile file(display, *text);
    fmt::print(stderr, "{}", grammar::render_all(file, formatted.diags));
    return Outcome::Invalid;
  }
  const bool changed = *formatted.value != *text;
  if (options.check) {
    if (changed) fmt::print("{}\n", display);
    return changed ? Outcome::Unformatted : Outcome::Formatted;
  }
  if (options.write) {
    if (!changed) return Outcome::Formatted;
    if (const std::string reason = replace_file(path, *formatted.value); !reason.empty()) {
      print_io_error(fmt::format("cannot rewrite `{}`: {}", path, reason));
      return Outcome::IoError;
    }
    return Outcome::Formatted;
  }
  if (std::fwrite(formatted.value->data(), 1, formatted.value->size(), stdout) !=
      formatted.value->size()) {
    print_io_error(fmt::format("cannot write the output: {}", std::strerror(errno)));
    return Outcome::IoError;
  }
  return Outcome::Formatted;
}

int run_fmt(FmtOptions options) {
  if (options.files.empty()) options.files.emplace_back("-");
  if (options.write) {
    for (const auto& file : options.files) {
      if (file == "-") {
        fmt::print(stderr,
                   "postern fmt: error[C703]: -w needs files: standard input cannot be rewritten\n"
                   "  help: drop -w to print the formatted text, or name the files\n");
        return kExitUsage;
      }
    }
  }
  int exit_code = kExitOk;
  for (const auto& file : options.files) {
    switch (format_one(file, options)) {
      case Outcome::Formatted:
        break;
      case Outcome::Unformatted:
      case Outcome::Invalid:
        exit_code = std::max(exit_code, kExitFailed);
        break;
      case Outcome::IoError:
        exit_code = kExitUsage;
        break;
    }
  }
  if (std::fflush(stdout) != 0) {
    print_io_error(fmt::format("cannot write the output: {}", std::strerror(errno)));
    return kExitUsage;
  }
  return exit_code;
}

const CommandRegistration kFmtCommand{
    15, [](CLI::App& root, int& exit_code) {
      auto options = std::make_shared<FmtOptions>();
      auto* cmd = root.add_subcommand(
          "fmt",
          "Format HuJSON policy files the way Tailscale does (tailscale/hujson's Format: tabs,\n"
          "comments kept, one member per line or one line, trailing commas on expanded\n"
          "objects and arrays). The formatted text's SHA-256 is the policy ETag that\n"
          "gitops-pusher compares. Prints the formatted text unless --check or -w is given.\n"
          "A file that does not parse gets one located error and is never rewritten.\n"
          "Exit status: 0 success (and, with --check, every file formatted), 1 a file is not\n"
          "formatted (--check) or does not parse, 2 usage or I/O error.");
      cmd->add_option("files", options->files, "HuJSON files; `-` or none reads standard input")
          ->type_name("FILE");
      auto* check = cmd->add_flag("--check", options->check,
                                  "List the files whose formatting differs; change nothing");
      auto* write = cmd->add_flag("-w,--write", options->write,
                                  "Rewrite files in place (atomically, mode kept) when they "
                                  "differ");
      check->excludes(write);
      cmd->footer(
          "Examples:\n"
          "  postern fmt policy.hujson             # print the formatted policy\n"
          "  postern fmt --check policies/*.hujson # CI: list unformatted files, exit 1\n"
          "  postern fmt -w policy.hujson          # rewrite in place\n");
      cmd->callback([options, &exit_code] { exit_code = run_fmt(*options); });
    }};

}  // namespace
}  // namespace postern::app
