#include "access_query.hpp"

namespace postern::app {

std::optional<AccessQuery> resolve_access_query(const engine::Snapshot& snapshot,
                                                const std::string& src, const std::string& dst,
                                                std::uint8_t proto,
                                                std::optional<engine::AttrMap> src_attrs,
                                                AccessQueryError& error) {
  AccessQuery query;
  std::string host;
  if (!split_host_port(dst, host, query.port, error.message)) {
    error.kind = AccessQueryError::Kind::Invalid;
    return std::nullopt;
  }
  const auto literal = grammar::ip::parse_address(host);
  query.dst = resolve_endpoint(snapshot, host, literal && literal->v6, error.message);
  if (query.dst.addresses.empty()) {
    error.kind = AccessQueryError::Kind::UnknownEndpoint;
    return std::nullopt;
  }
  const bool v6 = query.dst.addresses[0].v6;
  query.src = resolve_endpoint(snapshot, src, v6, error.message);
  if (query.src.addresses.empty()) {
    error.kind = AccessQueryError::Kind::UnknownEndpoint;
    return std::nullopt;
  }
  query.proto = proto == engine::kProtoIcmp && v6 ? engine::kProtoIcmpV6 : proto;
  query.src_attrs = std::move(src_attrs);
  return query;
}

AccessAnswer answer_access_query(const engine::Snapshot& snapshot, const AccessQuery& query,
                                 bool explain) {
  AccessAnswer answer;
  for (const auto& address : query.src.addresses) {
    engine::Request request;
    request.src = address;
    request.dst = query.dst.addresses[0];
    request.proto = query.proto;
    request.port = query.port;
    request.src_attrs = query.src_attrs ? &*query.src_attrs : nullptr;
    request.explain = explain;
    answer.decisions.push_back(snapshot.check(request));
    answer.accept = answer.accept && answer.decisions.back().allow;
  }
  return answer;
}

}  // namespace postern::app
