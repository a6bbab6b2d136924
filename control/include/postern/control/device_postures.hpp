#pragma once
// What the console's Machines page shows about posture: for one device, every posture of the
// policy with pass or fail and the failing conditions; for the whole tailnet, which postures each
// device passes and which attributes it has. Both read one snapshot; the results are the ones
// checks use.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "postern/control/outcome.hpp"
#include "postern/engine/engine.hpp"

namespace postern::control {

struct DevicePostures {
  engine::DeviceIndex device = 0;
  std::string device_key;  // nodeId, else id
  bool exempt = false;     // an external (shared-in) device: posture is not checked for it
  std::vector<engine::PostureResult> postures;  // in name order, failures explained
};

// `device` by any name find_device knows; NotFound (C744) when none or several match.
Outcome<DevicePostures> device_postures(const engine::Snapshot& snapshot, std::string_view device);

struct PostureTable {
  std::vector<std::string> postures;  // the policy's postures in name order
  struct Row {
    std::string device_key;
    std::vector<std::uint32_t> passing;   // indices into `postures`
    std::vector<std::string> attributes;  // keys of its current attributes, for filtering
  };
  std::vector<Row> devices;  // in inventory order
};

PostureTable posture_table(const engine::Snapshot& snapshot);

}  // namespace postern::control
