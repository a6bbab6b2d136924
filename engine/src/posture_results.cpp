// Snapshot::posture_results: a device's result for every posture of the policy, for the console's
// machine list (pass/fail) and machine details (with the failing conditions).
#include "compiled.hpp"
#include "postern/engine/engine.hpp"

namespace postern::engine {

std::vector<PostureResult> Snapshot::posture_results(DeviceIndex index, bool explain) const {
  const auto& policy = *data_->policy;
  const auto& state = data_->chunks[index / kChunk]->states[index % kChunk];
  std::vector<PostureResult> out;
  out.reserve(policy.postures.size());
  for (std::uint32_t p = 0; p < policy.postures.size(); ++p) {
    PostureResult result;
    result.posture = policy.postures[p].name;
    result.pass = state.posture_ok[p];
    if (explain && !result.pass) {
      result.failures =
          explain_posture(policy, p, *state.attributes, state.expiries.get(), data_->now)
              .conditions;
    }
    out.push_back(std::move(result));
  }
  return out;
}

}  // namespace postern::engine
