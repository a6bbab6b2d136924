#include "postern/sync/result.hpp"

namespace postern::sync {

std::string_view kind_name(SyncErrorKind kind) {
  switch (kind) {
    case SyncErrorKind::Auth:
      return "auth";
    case SyncErrorKind::Config:
      return "config";
    case SyncErrorKind::RateLimited:
      return "rate_limited";
    case SyncErrorKind::Transient:
      return "transient";
    case SyncErrorKind::Protocol:
      return "protocol";
    case SyncErrorKind::Store:
      return "store";
    case SyncErrorKind::Discarded:
      return "discarded";
  }
  return "unknown";
}

std::string_view kind_code(SyncErrorKind kind) {
  switch (kind) {
    case SyncErrorKind::Auth:
      return "Y602";
    case SyncErrorKind::RateLimited:
      return "Y603";
    case SyncErrorKind::Transient:
      return "Y604";
    case SyncErrorKind::Protocol:
      return "Y605";
    case SyncErrorKind::Config:
      return "Y606";
    case SyncErrorKind::Store:
      return "Y607";
    case SyncErrorKind::Discarded:
      return "Y609";
  }
  return "Y601";
}

}  // namespace postern::sync
