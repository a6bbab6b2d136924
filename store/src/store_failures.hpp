#pragma once
// Failures a store throws inside a transaction and turns into its answer before returning: the
// write was discarded (the world changed under it) or the configuration change is refused.
// Internal to store/src; never seen by callers.

#include <stdexcept>

namespace postern::store::detail {

struct DiscardedFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ConfigFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace postern::store::detail
