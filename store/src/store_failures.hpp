#pragma once
// Failures a store throws inside a transaction and turns into its answer before returning: the
// write was discarded (the world changed under it) or the configuration change is refused.
// Internal to store/src; never seen by callers.

#include <stdexcept>
#include <string>

namespace postern::store::detail {

struct DiscardedFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ConfigFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An integration change decided on a version another change has since replaced.
inline std::string changed_meanwhile(const std::string& provider) {
  return "the `" + provider +
         "` integration was changed by someone else since it was read; read it again and retry";
}

}  // namespace postern::store::detail
