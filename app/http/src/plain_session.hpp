#pragma once
// One plain-TCP connection, driven by readiness on its worker's thread: it waits for the socket to
// become readable (or writable) and then reads, parses and writes without blocking, as far as the
// bytes allow. A request whose bytes are already here costs one receive and one send, and no
// timer system call (deadlines are swept by the Worker). Same rules as the TLS session: the
// header is bounded in bytes and time and checked (host, route, origin, credential, content type)
// before the body is read; pipelined requests are answered in order, one at a time.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>
#include <string>

#include "connection_registry.hpp"
#include "exchange.hpp"
#include "worker.hpp"

namespace postern::http::detail {

class PlainSession : public Stoppable,
                     public HasDeadline,
                     public std::enable_shared_from_this<PlainSession> {
 public:
  PlainSession(Server::State& state, Worker& worker, boost::asio::ip::tcp::socket socket,
               ConnectionSlot slot, std::string peer);
  ~PlainSession() override;
  PlainSession(const PlainSession&) = delete;
  PlainSession& operator=(const PlainSession&) = delete;
  PlainSession(PlainSession&&) = delete;
  PlainSession& operator=(PlainSession&&) = delete;

  // Both on the worker's thread: serve requests, or answer `response` (the connection was refused
  // at accept) and close.
  void start();
  void refuse(Response response);

  void on_server_stop(std::shared_ptr<Stoppable> self) override;  // any thread
  void on_deadline() override;                                    // the worker's thread

 private:
  // What the connection is doing; a deadline that passes is reported for the phase it was set in.
  // Answering: the handler answers later (PendingResponse); nothing is read meanwhile.
  enum class Phase { Idle, Header, Body, Answering, Write, Linger, Closed };
  enum class Step { Continue, Wait, Done };
  enum class Read { Data, WouldBlock, Closed };

  void drive();
  Step step();
  Step read_step();
  Step write_step();
  Step linger_step();

  void begin_request();
  Read read_available();
  boost::system::error_code parse();
  Step answer(Response response);
  void resume(Response response);
  void send(Response response, bool close_after);
  void next_chunk();
  void after_response();
  void begin_linger();
  Step wait_readable();
  Step wait_writable();
  void on_read(boost::system::error_code ec, std::size_t bytes);
  void on_ready(boost::system::error_code ec);
  void enter(Phase phase, std::chrono::milliseconds timeout);
  Step close_now();

  Server::State& state_;
  Worker& worker_;
  boost::asio::ip::tcp::socket socket_;
  ConnectionSlot slot_;
  std::string peer_;
  Exchange exchange_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<RequestBody>> parser_;
  boost::system::error_code read_error_;  // why the peer's side ended
  std::string out_;                       // bytes of the response still to send, from sent_
  std::size_t sent_ = 0;
  ChunkSource source_;  // set while a streamed body has pieces left
  std::string chunk_;
  bool raw_stream_ = false;        // HTTP/1.0: the streamed body ends where the connection does
  bool continue_pending_ = false;  // out_ holds `100 Continue`; the body comes next
  bool admitted_ = false;          // the current request's header passed Exchange::admit
  bool keep_alive_ = false;
  bool stop_requested_ = false;
  bool waiting_ = false;  // an async_wait is pending
  Phase phase_ = Phase::Idle;
  Phase timed_out_ = Phase::Closed;  // Closed: no deadline passed
  std::size_t discarded_ = 0;
};

}  // namespace postern::http::detail
