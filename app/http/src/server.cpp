#include "postern/http/server.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <sched.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include "plain_session.hpp"
#include "server_state.hpp"
#include "session.hpp"

namespace postern::http {
namespace {

namespace asio = boost::asio;
using detail::ConnectionRegistry;
using tcp = asio::ip::tcp;

std::optional<asio::ip::address> listen_address(const std::string& host) {
  if (host == "localhost") return asio::ip::make_address_v4("127.0.0.1");
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return address;
}

// The cores this process may run on (its affinity mask, as `nproc` counts them; a container's
// cpuset is smaller than the machine's online CPUs, which hardware_concurrency reports).
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return static_cast<unsigned>(count);
  }
  return std::max(1U, std::thread::hardware_concurrency());
}

// Listen addresses other than the wildcard are names clients may put in Host.
std::vector<std::string> host_names(const ServerOptions& options) {
  auto names = options.allowed_hosts;
  for (const auto& endpoint : options.listen) {
    const auto address = listen_address(endpoint.host);
    if (address && !address->is_unspecified()) names.push_back(address->to_string());
  }
  return names;
}

std::string load_tls(Server::State& state, const TlsFiles& files) {
  auto& context = state.tls.emplace(asio::ssl::context::tls_server);
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  // No renegotiation (TLS 1.2), which a client could ask for again and again inside one
  // connection at a handshake's CPU each. OpenSSL 3 refuses client-initiated ones by default;
  // said here so that no default decides it. tls_test fails if it is allowed.
  SSL_CTX_set_options(context.native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  boost::system::error_code ec;
  context.use_certificate_chain_file(files.cert_file, ec);
  if (ec) return fmt::format("cannot load TLS certificate `{}`: {}", files.cert_file, ec.message());
  context.use_private_key_file(files.key_file, asio::ssl::context::pem, ec);
  if (ec) return fmt::format("cannot load TLS key `{}`: {}", files.key_file, ec.message());
  return {};
}

std::string bind(Server::State& state, const ListenEndpoint& endpoint) {
  const auto where = fmt::format("{}:{}", endpoint.host, endpoint.port);
  const auto address = listen_address(endpoint.host);
  if (!address) return fmt::format("cannot listen on {}: not an IP address", where);
  const tcp::endpoint local(*address, endpoint.port);
  auto acceptor = std::make_unique<tcp::acceptor>(state.workers.front()->io());
  boost::system::error_code ec;
  acceptor->open(local.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && address->is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor->bind(local, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fmt::format("cannot listen on {}: {}", where, ec.message());
  const auto bound = acceptor->local_endpoint(ec);
  state.endpoints.push_back(ListenEndpoint{endpoint.host, bound.port()});
  state.acceptors.push_back(std::move(acceptor));
  return {};
}

Response refusal(ConnectionRegistry::Refusal refusal, const Limits& limits) {
  if (refusal == ConnectionRegistry::Refusal::ServerFull) {
    return Response::error(503,
                           fmt::format("the server has reached its limit of {} connections ({})",
                                       limits.max_connections, flag::kMaxConnections));
  }
  auto response = Response::error(
      429, fmt::format("this client has reached the limit of {} connections ({})",
                       limits.max_connections_per_client, flag::kMaxConnectionsPerClient));
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

// A worker's view of the others, for Request::helpers: tasks go to each of them in turn.
class OtherWorkers final : public Helpers {
 public:
  OtherWorkers(const std::vector<std::unique_ptr<detail::Worker>>& workers, std::size_t self)
      : workers_(workers), self_(self) {}
  [[nodiscard]] std::size_t count() const override { return workers_.size() - 1; }
  void post(std::function<void()> task) override {
    next_ = (next_ + 1) % workers_.size();
    if (next_ == self_) next_ = (next_ + 1) % workers_.size();
    asio::post(workers_[next_]->io(), std::move(task));
  }

 private:
  const std::vector<std::unique_ptr<detail::Worker>>& workers_;
  std::size_t self_;
  std::size_t next_ = 0;  // only the owning worker's thread posts
};

// Runs on the connection's own worker: admits it (or answers the refusal) and starts it.
template <class Session>
void open_session(Server::State& state, detail::Worker& worker, tcp::socket socket) {
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  if (ec) return;  // the client is gone already
  socket.set_option(tcp::no_delay(true), ec);
  auto peer_address = peer.address().to_string();
  const auto& limits = state.options.limits;
  auto admission =
      state.registry.admit(peer_address, limits.max_connections, limits.max_connections_per_client);
  std::shared_ptr<Session> session;
  if constexpr (std::is_same_v<Session, detail::PlainSession>) {
    session = std::make_shared<Session>(state, worker, std::move(socket), std::move(admission.slot),
                                        peer_address);
  } else {
    session = std::make_shared<Session>(state, std::move(socket), std::move(admission.slot),
                                        peer_address, worker.helpers());
  }
  if (admission.refusal != ConnectionRegistry::Refusal::None) {
    session->refuse(refusal(admission.refusal, limits));
  } else {
    session->start();
  }
}

void hand_out(Server::State& state, detail::Worker& worker, tcp::socket socket) {
  asio::post(worker.io(), [&state, &worker, socket = std::move(socket)]() mutable {
    if (state.tls) {
      open_session<detail::Session<detail::TlsStream>>(state, worker, std::move(socket));
    } else {
      open_session<detail::PlainSession>(state, worker, std::move(socket));
    }
  });
}

void accept_next(Server::State& state, tcp::acceptor& acceptor) {
  auto& worker = *state.workers[state.next_worker];
  state.next_worker = (state.next_worker + 1) % state.workers.size();
  acceptor.async_accept(
      worker.io(), [&state, &acceptor, &worker](boost::system::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || state.stopping) return;
        if (ec) {
          // Out of descriptors, most likely: wait a little instead of spinning on the error.
          auto pause = std::make_shared<asio::steady_timer>(acceptor.get_executor(),
                                                            std::chrono::milliseconds(50));
          pause->async_wait([&state, &acceptor, pause](boost::system::error_code) {
            if (!state.stopping) accept_next(state, acceptor);
          });
          return;
        }
        hand_out(state, worker, std::move(socket));
        accept_next(state, acceptor);
      });
}

}  // namespace

StartResult Server::start(Router router, ServerOptions options) {
  if (options.limits.max_body_memory < options.limits.max_body_bytes) {
    return {nullptr, fmt::format("{} ({} bytes) must be at least {} ({} bytes): one body of the "
                                 "largest size must fit",
                                 flag::kMaxBodyMemory, options.limits.max_body_memory,
                                 flag::kMaxBodyBytes, options.limits.max_body_bytes)};
  }
  const auto names = host_names(options);
  auto state = std::make_shared<State>(std::move(router), std::move(options), names);
  auto threads = state->options.threads;
  if (threads == 0) threads = usable_cores();
  const auto& limits = state->options.limits;
  const auto sweep = detail::sweep_interval_for(
      {limits.header_timeout, limits.body_timeout, limits.idle_timeout, limits.write_timeout});
  for (unsigned i = 0; i < threads; ++i) {
    state->workers.push_back(std::make_unique<detail::Worker>(sweep));
  }
  if (threads > 1) {
    for (std::size_t i = 0; i < threads; ++i) {
      state->workers[i]->set_helpers(std::make_unique<OtherWorkers>(state->workers, i));
    }
  }
  if (state->options.tls) {
    if (auto error = load_tls(*state, *state->options.tls); !error.empty()) return {nullptr, error};
  }
  for (const auto& endpoint : state->options.listen) {
    if (auto error = bind(*state, endpoint); !error.empty()) return {nullptr, error};
  }
  for (auto& acceptor : state->acceptors) accept_next(*state, *acceptor);
  for (auto& worker : state->workers) worker->start();
  return {std::unique_ptr<Server>(new Server(std::move(state))), {}};
}

Server::Server(std::shared_ptr<State> state) : state_(std::move(state)) {}

Server::~Server() { stop(std::chrono::milliseconds(0)); }

const std::vector<ListenEndpoint>& Server::endpoints() const { return state_->endpoints; }

bool Server::uses_tls() const { return state_->tls.has_value(); }

std::size_t Server::worker_threads() const { return state_->workers.size(); }

std::size_t Server::open_connections() const { return state_->registry.open(); }

std::uint64_t Server::body_bytes_held() const { return state_->body_budget.used(); }

bool Server::wait_for_open_connections(std::size_t count, std::chrono::milliseconds bound) const {
  return state_->registry.wait_until_open(count, std::chrono::steady_clock::now() + bound);
}

void Server::stop(std::chrono::milliseconds deadline) {
  State& state = *state_;
  {
    const std::lock_guard lock(state.stop_mutex);
    if (state.stopped) return;
    state.stopped = true;
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  state.stopping = true;
  for (auto& acceptor : state.acceptors) {
    asio::post(acceptor->get_executor(), [&acceptor = *acceptor] {
      boost::system::error_code ignored;
      acceptor.close(ignored);
    });
  }
  state.registry.stop_all();
  state.registry.wait_until_open(0, until);
  for (auto& worker : state.workers) worker->stop();
  for (auto& worker : state.workers) worker->join();
}

}  // namespace postern::http
