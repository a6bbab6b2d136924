#include "sync_cli.hpp"

#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "postern/engine/inventory.hpp"
#include "postern/sync/clock.hpp"

namespace postern::app {

void print_sync_error(std::string_view command, std::string_view code, std::string_view message,
                      std::string_view help) {
  std::cerr << "postern " << command << ": error[" << code << "]: " << message << "\n";
  if (!help.empty()) std::cerr << "  help: " << help << "\n";
}

void print_sync_error(std::string_view command, const sync::SyncError& error) {
  std::string help;
  switch (error.kind) {
    case sync::SyncErrorKind::Auth:
      help =
          "create a token with the Prism > Device Information permission, then run "
          "`postern integrations update kandji --token-file FILE`";
      break;
    case sync::SyncErrorKind::Config:
      help = "check the integration's API URL and token";
      break;
    case sync::SyncErrorKind::RateLimited:
      help = "the tenant's request budget is shared with other tools; the next sync retries";
      break;
    case sync::SyncErrorKind::Transient:
    case sync::SyncErrorKind::Protocol:
      help = "nothing was written; the last good attributes stay in place";
      break;
    default:
      break;
  }
  print_sync_error(command, sync::kind_code(error.kind), error.message, help);
}

std::unique_ptr<sync::Store> open_store(std::string_view command, const std::string& db) {
  auto store = sync::open_sqlite_store(db);
  if (!store) {
    print_sync_error(command, "C743", store.error().message, "check --db");
    return nullptr;
  }
  return std::move(store.value());
}

sync::Result<engine::Inventory> load_tailnet(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return sync::SyncError{sync::SyncErrorKind::Config, "cannot read tailnet `" + path + "`"};
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto loaded = engine::load_inventory(text.str());
  if (!loaded.inventory) {
    std::string message = "invalid tailnet `" + path + "`";
    if (!loaded.errors.empty()) {
      message += ": " + loaded.errors.front().json_path + ": " + loaded.errors.front().message;
    }
    return sync::SyncError{sync::SyncErrorKind::Config, message};
  }
  return std::move(*loaded.inventory);
}

sync::Result<std::vector<sync::TailnetNode>> load_tailnet_nodes(const std::string& path) {
  auto inventory = load_tailnet(path);
  if (!inventory) return inventory.error();
  return sync::tailnet_nodes(inventory.value());
}

std::optional<std::string> read_token_option(std::string_view command, const std::string& file,
                                             const std::string& env) {
  std::string token;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      print_sync_error(command, "C741", "cannot read the token file `" + file + "`");
      return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    token = text.str();
  } else {
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) {
      print_sync_error(command, "C741", "the environment variable `" + env + "` is not set");
      return std::nullopt;
    }
    token = value;
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' ||
                            token.back() == '\t')) {
    token.pop_back();
  }
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.erase(0, 1);
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
    print_sync_error(command, "C741", "the API token is empty or spans several lines");
    return std::nullopt;
  }
  return token;
}

std::string actor_or_default(const std::string& actor) {
  if (!actor.empty()) return actor;
  const char* user = std::getenv("USER");
  if (user != nullptr && *user != '\0') return std::string("admin:") + user;
  // No $USER (cron, containers, `sudo -i` shells): the account the process runs as.
  if (const passwd* account = getpwuid(geteuid());
      account != nullptr && account->pw_name != nullptr) {
    return std::string("admin:") + account->pw_name;
  }
  return "admin:uid-" + std::to_string(geteuid());
}

void schedule_next(sync::Store& store, std::int64_t integration_id, std::int64_t interval_s) {
  auto status = store.load_status(integration_id);
  if (!status) return;
  sync::SyncStatus s = status.value();
  const auto now = unix_now();
  if (s.paused_until && *s.paused_until > now) return;
  s.next_run = now + interval_s;
  (void)store.save_status(integration_id, s);
}

std::int64_t unix_now() { return sync::to_unix(sync::SysClock::now()); }

std::string when(const std::optional<std::int64_t>& t) {
  return t ? sync::format_rfc3339(*t) : std::string("never");
}

std::optional<std::int64_t> parse_since(std::string_view text, std::int64_t now) {
  if (auto t = engine::parse_rfc3339(text)) return t;
  if (text.size() < 2) return std::nullopt;
  std::int64_t amount = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, amount);
  if (ec != std::errc{} || ptr != text.data() + text.size() - 1 || amount < 0) return std::nullopt;
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

}  // namespace postern::app
