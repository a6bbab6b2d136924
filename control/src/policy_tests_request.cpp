// Running a list of tests against the current policy.
#include "postern/control/policy_tests_request.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "postern/grammar/ascii.hpp"
#include "postern/grammar/hujson.hpp"

namespace postern::control {
namespace {

bool is_tests_key(std::string_view key) { return grammar::ascii_iequals(key, "tests"); }

}  // namespace

Outcome<PolicyVerdict> validate_tests(const Tailnet& tailnet, const nlohmann::json& tests) {
  if (!tests.is_array()) return invalid(grammar::DiagCode::C722, "the tests must be a JSON array");
  for (std::size_t i = 0; i < tests.size(); ++i) {
    if (!tests[i].is_object()) {
      return invalid(
          grammar::DiagCode::C722,
          fmt::format("test [{}] must be an object such as "
                      "{{\"src\": \"alice@example.com\", \"accept\": [\"tag:web:443\"]}}",
                      i));
    }
  }
  const grammar::SourceFile current("policy.hujson", tailnet.policy().text);
  const auto standard = grammar::hujson::standardize(current);
  if (!standard.value) {
    return Error{ErrorKind::Internal,
                 grammar::DiagCode::K810,
                 "the current policy cannot be read as JSON",
                 {}};
  }
  nlohmann::json policy = nlohmann::json::parse(*standard.value, nullptr, false);
  if (!policy.is_object()) {
    return Error{ErrorKind::Internal,
                 grammar::DiagCode::K810,
                 "the current policy is not a JSON object",
                 {}};
  }
  for (auto it = policy.begin(); it != policy.end();) {
    it = is_tests_key(it.key()) ? policy.erase(it) : std::next(it);
  }
  policy["tests"] = tests;
  return tailnet.validate_policy(policy.dump(1, '\t'), "tests");
}

}  // namespace postern::control
