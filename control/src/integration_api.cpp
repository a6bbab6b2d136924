// Posture integrations by API id, with `cloudId`.
#include "postern/control/integration_api.hpp"

#include <fmt/format.h>

#include "postern/sync/provider.hpp"

namespace postern::control {

std::string integration_api_id(const sync::Integration& integration) {
  return fmt::format("pi{}{}", integration.provider, integration.id);
}

Outcome<IntegrationView> integration_by_api_id(const Tailnet& tailnet, std::string_view id) {
  auto all = tailnet.integrations();
  if (!all) return all.error();
  for (auto& view : all.value()) {
    if (integration_api_id(view.integration) == id) return std::move(view);
  }
  return not_found(grammar::DiagCode::C740, fmt::format("no posture integration `{}`", id),
                   "list them with GET /api/v2/tailnet/-/posture/integrations");
}

// The URL as given, while it still names the stored URL: a replica older than schema v8 (SQLite;
// v4 PostgreSQL) changes the URL without it, during a rolling upgrade.
bool given_names_url(const sync::Integration& integration) {
  if (integration.url_as_given.empty()) return false;
  const auto provider = sync::make_provider(integration.provider);
  if (!provider) return false;
  const auto normalised = provider->normalise_url(integration.url_as_given);
  return normalised && normalised.value() == integration.url;
}

std::string integration_cloud_id(const sync::Integration& integration) {
  if (given_names_url(integration)) return integration.url_as_given;
  constexpr std::string_view kHttps = "https://";
  const std::string_view url = integration.url;
  if (url.substr(0, kHttps.size()) == kHttps) {
    const std::string_view host = url.substr(kHttps.size());
    if (host.find_first_of(":/") == std::string_view::npos) return std::string(host);
  }
  return integration.url;
}

std::optional<Error> check_unused_credentials(std::string_view provider, std::string_view client_id,
                                              std::string_view tenant_id) {
  if (provider != "kandji") return std::nullopt;
  for (const auto& [field, value] : {std::pair{"clientId", client_id}, {"tenantId", tenant_id}}) {
    if (!value.empty()) {
      return invalid(grammar::DiagCode::Y606,
                     fmt::format("`{}` is not used by the kandji integration", field),
                     "leave it empty; give the API URL as `cloudId` and the API token as "
                     "`clientSecret`");
    }
  }
  return std::nullopt;
}

}  // namespace postern::control
