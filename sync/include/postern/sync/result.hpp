#pragma once
// Errors cross the sync layer's API as values: a Result<T> holds either a value or a SyncError.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace postern::sync {

// Failure classes (spec kandji.md §3.1); each maps to one Y6xx diagnostic code.
enum class SyncErrorKind : std::uint8_t {
  Auth,         // 401/403: the integration is paused
  Config,       // bad URL, 404 tenant, DNS failure
  RateLimited,  // 429 after retries
  Transient,    // 5xx, timeouts, connection errors
  Protocol,     // non-JSON, wrong types, page cap exceeded
  Store,        // the SQLite store failed
  Discarded,    // the integration changed or was removed while the sync ran
};

struct SyncError {
  SyncErrorKind kind = SyncErrorKind::Transient;
  std::string message;  // lowercase, one line, never contains a secret
  int http_status = 0;  // 0 when no HTTP response was involved
};

// "auth", "config", ... (stored in the status table and printed by the CLI).
std::string_view kind_name(SyncErrorKind kind);
// "Y602", ... for the CLI's `error[CODE]` prefix.
std::string_view kind_code(SyncErrorKind kind);

template <class T>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(SyncError error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] T& value() { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const { return std::get<0>(v_); }
  [[nodiscard]] const SyncError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, SyncError> v_;
};

using Status = Result<std::monostate>;
inline Status ok_status() { return Status(std::monostate{}); }

}  // namespace postern::sync
