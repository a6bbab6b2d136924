#include "policy_loading.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include "postern/grammar/hujson.hpp"

namespace postern::app {

bool LoadedPolicy::ok() const { return !io_error && ast.has_value() && error_count() == 0; }

std::size_t LoadedPolicy::error_count() const {
  return static_cast<std::size_t>(std::count_if(diags.begin(), diags.end(), [](const auto& d) {
    return d.severity == grammar::Severity::Error;
  }));
}

std::size_t LoadedPolicy::warning_count() const {
  return static_cast<std::size_t>(std::count_if(diags.begin(), diags.end(), [](const auto& d) {
    return d.severity == grammar::Severity::Warning;
  }));
}

LoadedPolicy load_policy_text(std::string path, std::string text,
                              const engine::ValidateContext& context) {
  LoadedPolicy loaded;
  loaded.file = grammar::SourceFile(std::move(path), std::move(text));
  auto doc = grammar::hujson::parse(loaded.file);
  loaded.diags = std::move(doc.diags);
  if (!doc.value) return loaded;  // a syntax error is fatal
  auto lowered = grammar::policy::lower_all(loaded.file, *doc.value);
  for (auto& d : lowered.diags) loaded.diags.push_back(std::move(d));
  auto validation = engine::validate(loaded.file, lowered.ast, context);
  for (auto& d : validation) loaded.diags.push_back(std::move(d));
  loaded.ast = std::move(lowered.ast);
  return loaded;
}

LoadedPolicy load_policy(const std::string& path, const engine::ValidateContext& context) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadedPolicy failed;
    failed.file = grammar::SourceFile(path, "");
    failed.io_error = "cannot read `" + path + "`: " + std::strerror(errno);
    return failed;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) {
    LoadedPolicy failed;
    failed.file = grammar::SourceFile(path, "");
    failed.io_error = "cannot read `" + path + "`: read error";
    return failed;
  }
  return load_policy_text(path, std::move(bytes).str(), context);
}

engine::ValidateContext validate_context(const engine::Inventory& inventory) {
  engine::ValidateContext context;
  context.domains_known = true;
  for (const auto& user : inventory.users) {
    if (user.shared) continue;
    const auto at = user.login.rfind('@');
    if (at == std::string::npos) continue;
    auto domain = user.login.substr(at + 1);
    if (std::find(context.user_domains.begin(), context.user_domains.end(), domain) ==
        context.user_domains.end()) {
      context.user_domains.push_back(std::move(domain));
    }
  }
  return context;
}

std::string render_text(const grammar::SourceFile& file,
                        const std::vector<grammar::Diagnostic>& diags) {
  return grammar::render_all(file, diags);
}

nlohmann::json diagnostic_json(const grammar::SourceFile& file, const grammar::Diagnostic& diag) {
  const auto begin = file.line_col(diag.span.begin);
  const auto end = file.line_col(diag.span.end);
  nlohmann::json out = {
      {"file", file.path()},
      {"line", begin.line},
      {"column", begin.column},
      {"end_line", end.line},
      {"end_column", end.column},
      {"severity", std::string(grammar::severity_name(diag.severity))},
      {"code", std::string(grammar::code_name(diag.code))},
      {"message", diag.message},
      {"help", diag.help},
  };
  auto related = nlohmann::json::array();
  for (const auto& label : diag.related) {
    const auto at = file.line_col(label.span.begin);
    related.push_back({{"line", at.line}, {"column", at.column}, {"message", label.message}});
  }
  out["related"] = std::move(related);
  return out;
}

nlohmann::json diagnostics_json(const grammar::SourceFile& file,
                                const std::vector<grammar::Diagnostic>& diags) {
  auto out = nlohmann::json::array();
  for (const auto& d : diags) out.push_back(diagnostic_json(file, d));
  return out;
}

}  // namespace postern::app
