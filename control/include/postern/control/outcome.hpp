#pragma once
// Errors cross the control layer's API as values. An Error says what kind of failure it is (the
// front ends map kinds to HTTP statuses and exit codes), its stable diagnostic code, a one-line
// message and, where there is one, how to fix it.

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "postern/grammar/diag.hpp"
#include "postern/sync/result.hpp"

namespace postern::control {

enum class ErrorKind : std::uint8_t {
  Invalid,       // the request is malformed or breaks a rule: 400, exit 2 (usage) or 1
  NotFound,      // the device, integration or version does not exist: 404, exit 1
  Conflict,      // it contradicts the current state (type clash, exists already): 409, exit 1
  Precondition,  // the caller's view is stale (If-Match): 412, exit 1
  Unavailable,   // the store or a provider cannot be reached: 503, exit 1
  Internal,      // a bug: 500
};

struct Error {
  ErrorKind kind = ErrorKind::Invalid;
  grammar::DiagCode code = grammar::DiagCode::C703;
  std::string message;  // lowercase, one line, user text in backticks, never a secret
  std::string help;     // how to fix it; may be empty
  // Seconds after which the same request may succeed, when the refusal is a limit that frees
  // itself (HTTP's Retry-After).
  std::optional<std::int64_t> retry_after{};
};

Error invalid(grammar::DiagCode code, std::string message, std::string help = {});
Error not_found(grammar::DiagCode code, std::string message, std::string help = {});
Error conflict(grammar::DiagCode code, std::string message, std::string help = {});
// A store or sync failure, kind chosen from the sync error's kind.
Error from_sync(const sync::SyncError& error);

template <class T>
class Outcome {
 public:
  Outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Outcome(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] T& value() { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const { return std::get<0>(v_); }
  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

using Done = Outcome<std::monostate>;
inline Done done() { return Done(std::monostate{}); }

}  // namespace postern::control
