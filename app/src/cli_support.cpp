#include "cli_support.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <iostream>

#include "command_registry.hpp"
#include "postern/control/text_file.hpp"
#include "postern/engine/inventory.hpp"
#include "postern/grammar/diag.hpp"
#include "postern/sync/clock.hpp"

namespace postern::app {

void print_error(std::string_view command, const control::Error& error) {
  // Messages quote names from files and the store: shown without their control bytes.
  std::cerr << fmt::format("postern {}: error[{}]: {}\n", command, grammar::code_name(error.code),
                           grammar::printable(error.message, true));
  if (!error.help.empty()) {
    std::cerr << fmt::format("  help: {}\n", grammar::printable(error.help, true));
  }
}

// 2 when the input is wrong (a value the rules refuse, a name that does not exist: as `check`
// and `filter` answer an unknown device), 1 when the command ran and the answer is no.
int exit_code_for(const control::Error& error) {
  const bool input =
      error.kind == control::ErrorKind::Invalid || error.kind == control::ErrorKind::NotFound;
  return input ? kExitUsage : kExitFailed;
}

std::unique_ptr<control::Tailnet> open_tailnet(std::string_view command,
                                               control::TailnetOptions options) {
  auto opened = control::Tailnet::open(std::move(options));
  if (!opened) {
    print_error(command, opened.error());
    return nullptr;
  }
  return std::move(opened.value());
}

std::optional<std::string> read_token_option(std::string_view command, const std::string& file,
                                             const std::string& env) {
  auto fail = [&](std::string message) {
    print_error(command, control::invalid(grammar::DiagCode::C741, std::move(message)));
    return std::nullopt;
  };
  std::string token;
  if (!file.empty()) {
    auto text = control::read_text_file(file, "token file", control::kMaxTokenFileBytes);
    if (!text) return fail(text.error().message);
    token = std::move(text.value());
  } else {
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) return fail(fmt::format("the environment variable `{}` is not set", env));
    token = value;
  }
  const auto first = token.find_first_not_of(" \t");
  const auto last = token.find_last_not_of(" \t\r\n");
  token = first == std::string::npos ? std::string() : token.substr(first, last - first + 1);
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
    return fail("the API token is empty or spans several lines");
  }
  return token;
}

control::Actor cli_actor(const std::string& actor_option) {
  auto actor = control::local_admin(control::kOriginCli);
  if (!actor_option.empty()) actor.name = actor_option;
  return actor;
}

std::string when(const std::optional<std::int64_t>& t) {
  return t ? sync::format_rfc3339(*t) : std::string("never");
}

std::optional<std::int64_t> parse_since(std::string_view text, std::int64_t now) {
  if (auto t = engine::parse_rfc3339(text)) return t;
  if (text.size() < 2) return std::nullopt;
  std::int64_t amount = 0;
  const auto* end = text.data() + text.size() - 1;
  const auto [ptr, ec] = std::from_chars(text.data(), end, amount);
  if (ec != std::errc{} || ptr != end || amount < 0) return std::nullopt;
  switch (text.back()) {
    case 's':
      return now - amount;
    case 'm':
      return now - amount * 60;
    case 'h':
      return now - amount * 3600;
    case 'd':
      return now - amount * 86400;
    default:
      return std::nullopt;
  }
}

PolicyFile read_policy_file(const std::string& path, const engine::ValidateContext& context) {
  PolicyFile out;
  auto text = control::read_text_file(path, "policy", control::kMaxPolicyFileBytes);
  if (!text) {
    out.loaded.file = grammar::SourceFile(path, "");
    out.io_error = text.error().message;
    return out;
  }
  out.loaded = engine::load_policy(path, std::move(text.value()), context);
  return out;
}

std::string render_text(const grammar::SourceFile& file,
                        const std::vector<grammar::Diagnostic>& diags) {
  return grammar::render_all(file, diags);
}

nlohmann::json diagnostics_json(const grammar::SourceFile& file,
                                const std::vector<grammar::Diagnostic>& diags) {
  auto out = nlohmann::json::array();
  for (const auto& diag : diags) {
    const auto begin = file.line_col(diag.span.begin);
    const auto end = file.line_col(diag.span.end);
    auto related = nlohmann::json::array();
    for (const auto& label : diag.related) {
      const auto at = file.line_col(label.span.begin);
      related.push_back({{"line", at.line}, {"column", at.column}, {"message", label.message}});
    }
    out.push_back({{"file", file.path()},
                   {"line", begin.line},
                   {"column", begin.column},
                   {"end_line", end.line},
                   {"end_column", end.column},
                   {"severity", std::string(grammar::severity_name(diag.severity))},
                   {"code", std::string(grammar::code_name(diag.code))},
                   {"message", diag.message},
                   {"help", diag.help},
                   {"related", std::move(related)}});
  }
  return out;
}

}  // namespace postern::app
