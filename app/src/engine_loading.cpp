#include "engine_loading.hpp"

#include <cctype>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "postern/engine/inventory.hpp"
#include "postern/sync/overlay.hpp"

namespace postern::app {
namespace ip = grammar::ip;

namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace

bool overlay_store_attributes(const std::string& command, const std::string& db_path,
                              engine::Inventory& inventory) {
  auto table = sync::load_attribute_overlay(db_path);
  if (!table) {
    std::cerr << "postern " << command << ": error[C743]: cannot read the attribute store `"
              << db_path << "`: " << table.error().message << "\n"
              << "  help: create it with `postern integrations add` or `postern sync`\n";
    return false;
  }
  sync::apply_overlay(inventory, table.value());
  return true;
}

std::optional<LoadedEngine> load_engine(const std::string& command, const std::string& policy_path,
                                        const std::string& tailnet_path,
                                        const std::string& db_path) {
  engine::Inventory inventory;
  if (!db_path.empty() && tailnet_path.empty()) {
    std::cerr << "postern " << command << ": error[C703]: --db needs --tailnet\n"
              << "  help: stored attributes belong to the inventory's devices\n";
    return std::nullopt;
  }
  if (!tailnet_path.empty()) {
    auto text = read_file(tailnet_path);
    if (!text) {
      std::cerr << "postern " << command << ": error[C701]: cannot read tailnet inventory `"
                << tailnet_path << "`\n";
      return std::nullopt;
    }
    auto result = engine::load_inventory(*text);
    if (!result.inventory) {
      for (const auto& e : result.errors) {
        std::cerr << tailnet_path
                  << ": error[C702]: " << (e.json_path.empty() ? "" : e.json_path + ": ")
                  << e.message << "\n";
      }
      return std::nullopt;
    }
    inventory = std::move(*result.inventory);
  }
  if (!db_path.empty() && !overlay_store_attributes(command, db_path, inventory)) {
    return std::nullopt;
  }
  LoadedEngine out;
  out.policy = load_policy(policy_path, validate_context(inventory));
  if (out.policy.io_error) {
    std::cerr << "postern " << command << ": error[C701]: " << *out.policy.io_error << "\n";
    return std::nullopt;
  }
  if (!out.policy.diags.empty()) std::cerr << render_text(out.policy.file, out.policy.diags);
  if (!out.policy.ok()) {
    std::cerr << "postern " << command << ": error[C720]: policy `" << policy_path
              << "` is invalid\n";
    return std::nullopt;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  out.engine = engine::Engine::compile(out.policy.file, *out.policy.ast, inventory,
                                       engine::CompileOptions{now});
  return out;
}

namespace {

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string strip_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string address_key(const ip::Address& a) {
  return std::string(reinterpret_cast<const char*>(a.bytes.data()), a.v6 ? 16 : 4);
}

}  // namespace

DeviceNames::DeviceNames(const engine::Inventory& inventory) {
  for (std::size_t i = 0; i < inventory.devices.size(); ++i) {
    const auto& d = inventory.devices[i];
    auto add = [i](Index& index, const std::string& key) {
      auto& v = index[key];
      if (v.empty() || v.back() != i) v.push_back(i);
    };
    if (!d.id.empty()) add(ids_, d.id);
    if (!d.node_id.empty()) add(ids_, d.node_id);
    for (const auto& a : d.addresses) {
      if (addresses_.count(address_key(a)) == 0) add(addresses_, address_key(a));
    }
    if (!d.name.empty()) {
      add(fqdns_, lowered(strip_dot(d.name)));
      add(labels_, lowered(d.name.substr(0, d.name.find('.'))));
    }
    if (!d.hostname.empty()) add(hostnames_, lowered(d.hostname));
  }
}

std::vector<std::size_t> DeviceNames::find(const std::string& name) const {
  if (name.empty()) return {};
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  std::string bare = name;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  if (const auto a = ip::parse_address(bare)) {
    auto it = addresses_.find(address_key(*a));
    return it == addresses_.end() ? std::vector<std::size_t>{} : it->second;
  }
  const std::string key = lowered(name);
  if (auto it = fqdns_.find(strip_dot(key)); it != fqdns_.end()) return it->second;
  if (auto it = hostnames_.find(key); it != hostnames_.end()) return it->second;
  if (auto it = labels_.find(key); it != labels_.end()) return it->second;
  return {};
}

Endpoint resolve_endpoint(const engine::Snapshot& snapshot, const std::string& name, bool v6,
                          std::string& error, const DeviceNames* names) {
  Endpoint out;
  const auto& inv = snapshot.inventory();
  auto add_device = [&](std::size_t index) {
    const auto& d = inv.devices[index];
    const ip::Address* pick = nullptr;
    for (const auto& a : d.addresses) {
      if (a.v6 == v6 && pick == nullptr) pick = &a;
    }
    if (pick == nullptr && !d.addresses.empty()) pick = &d.addresses.front();
    if (pick == nullptr) return;
    out.addresses.push_back(*pick);
    out.labels.push_back(d.hostname + " (" + ip::to_string(*pick) + ")");
    out.devices.emplace_back(static_cast<engine::DeviceIndex>(index));
  };
  auto found = names != nullptr ? names->find(name) : engine::find_devices(inv, name);
  if (found.size() == 1) {
    add_device(found[0]);
    return out;
  }
  if (found.size() > 1) {
    error = "`" + name + "` names " + std::to_string(found.size()) +
            " devices; use an id, nodeId, FQDN or address";
    return out;
  }
  if (auto a = ip::parse_address(name)) {
    out.addresses.push_back(*a);
    out.labels.push_back(ip::to_string(*a));
    out.devices.emplace_back(std::nullopt);
    return out;
  }
  if (name.find('@') != std::string::npos) {
    for (std::size_t i = 0; i < inv.devices.size(); ++i) {
      if (!inv.devices[i].tagged() && inv.devices[i].user == name) add_device(i);
    }
    if (out.addresses.empty()) error = "user `" + name + "` has no untagged devices";
    return out;
  }
  error = "unknown device or address `" + name + "`";
  return out;
}

bool split_host_port(const std::string& text, std::string& host, std::uint16_t& port,
                     std::string& error) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    error = "`" + text + "` has no port (write `host:port`, `[v6]:port`; 0 for ICMP)";
    return false;
  }
  const std::string p = text.substr(colon + 1);
  unsigned long value = 0;
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
      (value = std::stoul(p)) > 65535) {
    error = "invalid port `" + p + "` in `" + text + "`";
    return false;
  }
  port = static_cast<std::uint16_t>(value);
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) {
    error = "`" + text + "` has no host";
    return false;
  }
  return true;
}

std::optional<std::uint8_t> parse_query_proto(const std::string& text) {
  return grammar::policy::parse_proto(text);
}

}  // namespace postern::app
