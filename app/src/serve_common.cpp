#include <fmt/format.h>

#include "serve_routes.hpp"

namespace postern::server {

namespace {

int status_of(control::ErrorKind kind) {
  switch (kind) {
    case control::ErrorKind::Invalid:
      return 400;
    case control::ErrorKind::NotFound:
      return 404;
    case control::ErrorKind::Conflict:
      return 409;
    case control::ErrorKind::Precondition:
      return 412;
    case control::ErrorKind::Unavailable:
      return 503;
    case control::ErrorKind::Internal:
      return 500;
  }
  return 500;
}

}  // namespace

http::Response error_response(const control::Error& error, Log& log) {
  // The operator learns of a failing store or a bug from the log, not only from the clients.
  if (error.kind == control::ErrorKind::Unavailable || error.kind == control::ErrorKind::Internal) {
    log.warn_repeating(fmt::format("answered {} [{}]: {}", status_of(error.kind),
                                   grammar::code_name(error.code), error.message));
  }
  nlohmann::json body = {{"message", log.scrub(error.message)},
                         {"code", std::string(grammar::code_name(error.code))}};
  if (!error.help.empty()) body["help"] = error.help;
  return http::Response::json(status_of(error.kind), body);
}

control::Actor api_actor(const http::Request& request) {
  // "local" is the authenticator's name for the loopback operator without a credential: the
  // audit log names them by account and peer address instead.
  if (request.principal && request.principal->actor != "local") {
    const auto origin =
        request.principal->browser_session ? control::kOriginConsole : control::kOriginApi;
    return control::Actor{request.principal->actor, std::string(origin)};
  }
  // Loopback without credentials: the operator of this machine.
  auto actor = control::local_admin(control::kOriginApi);
  actor.name = fmt::format("{} (via {})", actor.name, request.peer_address);
  return actor;
}

std::function<void(const control::Done&)> answer_after_edit(
    std::shared_ptr<http::PendingResponse> pending, ApiContext& context, std::string device,
    RenderAttributes render, RenderError fail) {
  return [pending = std::move(pending), &context, device = std::move(device),
          render = std::move(render), fail = std::move(fail)](const control::Done& edited) {
    if (!edited) return pending->complete(fail(edited.error()));
    pending->complete([&context, device, render, fail] {
      const auto view = context.tailnet.device_attributes(device);
      if (!view) return fail(view.error());
      return render(view.value());
    });
  };
}

}  // namespace postern::server
