#pragma once
// Posture integrations as Tailscale's API names them (spec tailscale-api.md §2.7): an id per
// integration for the tailnet-less `/api/v2/posture/integrations/{id}` routes, `cloudId` for the
// provider's API address, and the credential fields a provider does not use.

#include <string>
#include <string_view>

#include "postern/control/outcome.hpp"
#include "postern/control/tailnet.hpp"

namespace postern::control {

// "pi<provider><store id>", e.g. "pikandji1": stable for the integration's life, never reused
// (store ids only grow).
std::string integration_api_id(const sync::Integration& integration);

// The integration with that id; NotFound otherwise (Tailscale answers 404 for ids of others too).
Outcome<IntegrationView> integration_by_api_id(const Tailnet& tailnet, std::string_view id);

// The API address as `cloudId`: the bare host for an https URL on the default port (the form
// Tailscale documents, `mydomain.kandji.io`), else the whole URL.
std::string integration_cloud_id(const sync::Integration& integration);

// `clientId` and `tenantId` are blank for Kandji; a value there is a mistake worth an error
// (Invalid), not something to drop silently.
std::optional<Error> check_unused_credentials(std::string_view provider, std::string_view client_id,
                                              std::string_view tenant_id);

}  // namespace postern::control
