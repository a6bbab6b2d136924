// The /_sim admin API: no authentication, loopback clients only. It arms faults, edits the
// tenant's devices, swaps the accepted token, returns the request log and resets everything.

#include <stdexcept>

#include "postern/grammar/loopback.hpp"
#include "simulator.hpp"

namespace postern::kandji_sim {
namespace {

constexpr const char* kJson = "application/json";

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void fail(httplib::Response& res, int status, const std::string& detail) {
  reply(res, status, nlohmann::json{{"detail", detail}});
}

// Parses the request body as JSON; on failure answers 400 and returns discarded.
nlohmann::json body_json(const httplib::Request& req, httplib::Response& res) {
  auto doc = nlohmann::json::parse(req.body, nullptr, false);
  if (doc.is_discarded()) fail(res, 400, "request body is not valid JSON");
  return doc;
}

}  // namespace

void Simulator::admin_routes(httplib::Server& server) {
  // Wraps a handler with the loopback check every admin endpoint shares.
  const auto admin = [](auto handler) {
    return [handler](const httplib::Request& req, httplib::Response& res) {
      if (!grammar::ip::is_loopback_host(req.remote_addr)) {
        fail(res, 403, "the simulator admin API only answers loopback clients");
        return;
      }
      handler(req, res);
    };
  };

  server.Post("/_sim/faults", admin([this](const httplib::Request& req, httplib::Response& res) {
                const auto doc = body_json(req, res);
                if (doc.is_discarded()) return;
                try {
                  auto parsed = parse_faults(doc);
                  const auto added = parsed.size();
                  std::lock_guard lock(mutex_);
                  faults_.add(std::move(parsed));
                  reply(res, 200, {{"added", added}, {"faults", faults_.to_json()}});
                } catch (const std::invalid_argument& e) {
                  fail(res, 400, e.what());
                }
              }));
  server.Get("/_sim/faults", admin([this](const httplib::Request&, httplib::Response& res) {
               std::lock_guard lock(mutex_);
               reply(res, 200, faults_.to_json());
             }));
  server.Delete("/_sim/faults", admin([this](const httplib::Request&, httplib::Response& res) {
                  std::lock_guard lock(mutex_);
                  faults_.clear();
                  reply(res, 200, {{"faults", nlohmann::json::array()}});
                }));

  server.Get("/_sim/devices", admin([this](const httplib::Request&, httplib::Response& res) {
               std::string body = "[";
               std::lock_guard lock(mutex_);
               for (const auto& d : store_.devices()) {
                 if (body.size() > 1) body += ',';
                 body += d.json;
               }
               body += ']';
               res.status = 200;
               res.set_content(body, kJson);
             }));
  server.Post(R"(/_sim/devices/(.+))",
              admin([this](const httplib::Request& req, httplib::Response& res) {
                const auto doc = body_json(req, res);
                if (doc.is_discarded()) return;
                if (!doc.is_object()) {
                  fail(res, 400, "a device patch must be a JSON object");
                  return;
                }
                try {
                  std::lock_guard lock(mutex_);
                  auto result = store_.upsert(req.matches[1].str(), Row(doc), config_.field_mode);
                  reply(res, result.created ? 201 : 200,
                        {{"created", result.created}, {"devices", result.rows}});
                } catch (const RowError& e) {
                  fail(res, 400, e.what());
                }
              }));
  server.Delete(R"(/_sim/devices/(.+))",
                admin([this](const httplib::Request& req, httplib::Response& res) {
                  const std::string serial = req.matches[1].str();
                  std::lock_guard lock(mutex_);
                  const auto removed = store_.remove(serial);
                  if (removed == 0) {
                    fail(res, 404, "no device with serial number `" + serial + "`");
                  } else {
                    reply(res, 200, {{"removed", removed}});
                  }
                }));

  server.Get("/_sim/requests", admin([this](const httplib::Request&, httplib::Response& res) {
               std::lock_guard lock(mutex_);
               reply(res, 200, log_.to_json());
             }));
  server.Delete("/_sim/requests", admin([this](const httplib::Request&, httplib::Response& res) {
                  std::lock_guard lock(mutex_);
                  log_.clear();
                  reply(res, 200, nlohmann::json::array());
                }));

  server.Post("/_sim/reset", admin([this](const httplib::Request&, httplib::Response& res) {
                std::lock_guard lock(mutex_);
                reset_state();
                reply(res, 200, {{"devices", store_.devices().size()}});
              }));

  server.Post(
      "/_sim/token", admin([this](const httplib::Request& req, httplib::Response& res) {
        const auto doc = body_json(req, res);
        if (doc.is_discarded()) return;
        if (!doc.is_object()) {
          fail(res, 400, "expected a JSON object such as {\"token\": \"...\"}");
          return;
        }
        for (const auto& [key, value] : doc.items()) {
          if (key != "token" && key != "has_permission" && key != "forbidden_tokens") {
            fail(res, 400, "unknown key `" + key + "`");
            return;
          }
        }
        auto token = doc.find("token");
        auto permission = doc.find("has_permission");
        auto forbidden = doc.find("forbidden_tokens");
        if (token != doc.end() && (!token->is_string() || token->get<std::string>().empty())) {
          fail(res, 400, "`token` must be a non-empty string");
          return;
        }
        if (permission != doc.end() && !permission->is_boolean()) {
          fail(res, 400, "`has_permission` must be true or false");
          return;
        }
        std::vector<std::string> forbidden_list;
        if (forbidden != doc.end()) {
          if (!forbidden->is_array()) {
            fail(res, 400, "`forbidden_tokens` must be an array of strings");
            return;
          }
          for (const auto& t : *forbidden) {
            if (!t.is_string()) {
              fail(res, 400, "`forbidden_tokens` must be an array of strings");
              return;
            }
            forbidden_list.push_back(t.get<std::string>());
          }
        }
        std::lock_guard lock(mutex_);
        if (token != doc.end()) {
          token_ = token->get<std::string>();
          retired_tokens_.insert(token_);
          revoked_.erase(token_);  // a re-issued token works again
          token_has_permission_ = true;
        }
        if (permission != doc.end()) token_has_permission_ = permission->get<bool>();
        if (forbidden != doc.end()) forbidden_tokens_ = std::move(forbidden_list);
        // Never echo a token back: report only the state.
        reply(res, 200, {{"token", "set"}, {"has_permission", token_has_permission_}});
      }));
}

}  // namespace postern::kandji_sim
