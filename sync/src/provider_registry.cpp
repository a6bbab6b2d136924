// The providers postern knows. A new provider is one fetch-and-map file plus one line here.
#include "postern/sync/kandji.hpp"
#include "postern/sync/provider.hpp"

namespace postern::sync {

std::unique_ptr<Provider> make_provider(std::string_view id) {
  if (id == "kandji") return std::make_unique<KandjiProvider>();
  return nullptr;
}

std::vector<std::string> provider_ids() { return {"kandji"}; }

}  // namespace postern::sync
