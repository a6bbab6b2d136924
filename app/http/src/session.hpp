#pragma once
// One connection: a small state machine on its own strand. Reads a request's header (bounded in
// bytes and time), checks it (host, route, origin, credential, content type) before reading the
// body (bounded in bytes and time), calls the route's handler, writes the response, and repeats
// while the client keeps the connection alive. Requests on a connection are handled one at a time,
// so pipelined requests are answered in order.

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "connection_registry.hpp"
#include "exchange.hpp"
#include "server_state.hpp"

namespace postern::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using PlainStream = tcp::socket;
using TlsStream = asio::ssl::stream<tcp::socket>;

enum class Waiting { Nothing, Idle, Header, Body, Write };

template <class Stream>
class Session : public Stoppable, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Server::State& state, tcp::socket socket, ConnectionSlot slot, std::string peer,
          Helpers* helpers)
      : state_(state),
        stream_(make_stream(state, std::move(socket))),
        timer_(beast::get_lowest_layer(stream_).get_executor()),
        slot_(std::move(slot)),
        peer_(std::move(peer)),
        exchange_(state, peer_, helpers) {}

  void start() {
    slot_.track(this->weak_from_this());
    if constexpr (kTls) {
      arm(Waiting::Header, state_.options.limits.header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                self->disarm();
                                if (ec) return self->close_now();
                                self->wait_for_request();
                              });
    } else {
      wait_for_request();
    }
  }

  // Answers `response` at once (the connection was refused at accept) and closes.
  void refuse(Response response) {
    if constexpr (kTls) {
      close_now();  // no handshake for a refused connection: it would cost more than it saves
    } else {
      exchange_.start();
      send(std::move(response), true);
    }
  }

  void on_server_stop(std::shared_ptr<Stoppable> self) override {
    asio::post(timer_.get_executor(), [this, self = std::move(self)] {
      stop_requested_ = true;
      if (waiting_ == Waiting::Idle) cancel_io();
    });
  }

 private:
  static Stream make_stream(Server::State& state, tcp::socket socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *state.tls);
    } else {
      return socket;
    }
  }

  tcp::socket& socket() { return beast::get_lowest_layer(stream_); }

  void cancel_io() {
    beast::error_code ignored;
    socket().cancel(ignored);
  }

  // One deadline at a time; when it passes, the pending operation is cancelled and its handler
  // sees `timed_out_`.
  void arm(Waiting what, std::chrono::milliseconds timeout) {
    waiting_ = what;
    timed_out_ = Waiting::Nothing;
    timer_.expires_after(timeout);
    timer_.async_wait(
        [self = this->shared_from_this(), generation = ++generation_](beast::error_code ec) {
          if (ec || generation != self->generation_) return;
          self->timed_out_ = self->waiting_;
          self->cancel_io();
        });
  }

  void disarm() {
    ++generation_;
    waiting_ = Waiting::Nothing;
    timer_.cancel();
  }

  void wait_for_request() {
    if (stop_requested_ || state_.stopping) return close_now();
    if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
    arm(Waiting::Idle, state_.options.limits.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadSize),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->disarm();
                              self->buffer_.commit(n);
                              if (ec) return self->close_now();
                              self->read_header();
                            });
  }

  void read_header() {
    exchange_.start();
    const auto& limits = state_.options.limits;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser_->body_limit(limits.max_body_bytes);
    parser_->get().body().allowance = BodyAllowance(&state_.body_budget);
    arm(Waiting::Header, limits.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(beast::error_code ec) {
    const auto timed_out = timed_out_;
    disarm();
    if (ec) return on_read_error(ec, timed_out);
    auto verdict = exchange_.admit(parser_->get(), !parser_->is_done(), kTls);
    if (verdict.rejection) {
      return send(std::move(*verdict.rejection), verdict.close_after || !parser_->is_done());
    }
    if (parser_->is_done()) return dispatch();
    if (verdict.expects_continue) return send_continue();
    read_body();
  }

  void send_continue() {
    continue_.emplace(bhttp::status::continue_, parser_->get().version());
    arm(Waiting::Write, state_.options.limits.write_timeout);
    bhttp::async_write(stream_, *continue_,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         self->disarm();
                         if (ec) return self->close_now();
                         self->read_body();
                       });
  }

  void read_body() {
    arm(Waiting::Body, state_.options.limits.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        const auto timed_out = self->timed_out_;
                        self->disarm();
                        if (ec) return self->on_read_error(ec, timed_out);
                        self->dispatch();
                      });
  }

  void on_read_error(beast::error_code ec, Waiting timed_out) {
    auto response =
        exchange_.read_failure(ec, timed_out == Waiting::Header, timed_out == Waiting::Body);
    if (response) return send(std::move(*response), true);
    close_now();
  }

  void dispatch() {
    auto response = exchange_.handle(parser_->get());
    if (!response.pending) return send(std::move(response), false);
    // Answered later (PlainSession::answer explains the two references).
    struct Parked {
      std::shared_ptr<Server::State> keep;
      std::shared_ptr<Session> self;
    };
    auto parked =
        std::make_shared<Parked>(Parked{state_.shared_from_this(), this->shared_from_this()});
    response.pending->on_complete([parked](PendingResponse::Answer answer) {
      auto self = std::move(parked->self);
      auto executor = beast::get_lowest_layer(self->stream_).get_executor();
      asio::post(executor, [self = std::move(self), answer = std::move(answer)] {
        self->send(self->exchange_.answer(answer), false);
      });
    });
  }

  void send(Response response, bool close_after) {
    const bool request_keep_alive = parser_ && parser_->get().keep_alive();
    keep_alive_ = !close_after && request_keep_alive && !stop_requested_ && !state_.stopping;
    const unsigned version = parser_ ? parser_->get().version() : 11;
    if (response.stream && !exchange_.is_head()) return send_streamed(std::move(response), version);
    reply_.emplace(exchange_.prepare(std::move(response), version, keep_alive_));
    arm(Waiting::Write, state_.options.limits.write_timeout);
    bhttp::async_write(stream_, *reply_,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         self->disarm();
                         self->exchange_.add_response_bytes(
                             self->exchange_.is_head() ? 0 : self->reply_->body().size());
                         self->after_response(ec);
                       });
  }

  void send_streamed(Response response, unsigned version) {
    source_ = std::move(response.stream);
    // HTTP/1.0 has no chunked encoding: the body then ends where the connection does.
    raw_stream_ = version < 11;
    if (raw_stream_) keep_alive_ = false;
    stream_header_.emplace(
        exchange_.prepare_stream_header(std::move(response), version, keep_alive_, !raw_stream_));
    header_serializer_.emplace(*stream_header_);
    arm(Waiting::Write, state_.options.limits.write_timeout);
    bhttp::async_write_header(stream_, *header_serializer_,
                              [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                self->disarm();
                                if (ec) return self->after_response(ec);
                                self->write_next_chunk();
                              });
  }

  void write_next_chunk() {
    const auto piece = next_piece(source_, chunk_);
    if (piece == Piece::Failed) return close_now();
    const bool more = piece == Piece::More;
    arm(Waiting::Write, state_.options.limits.write_timeout);
    auto on_written = [self = this->shared_from_this(), more](beast::error_code ec, std::size_t) {
      self->disarm();
      if (ec || !more) return self->after_response(ec);
      self->exchange_.add_response_bytes(self->chunk_.size());
      self->write_next_chunk();
    };
    if (!more) {
      if (raw_stream_) return after_response({});
      return asio::async_write(stream_, bhttp::make_chunk_last(), std::move(on_written));
    }
    if (raw_stream_) return asio::async_write(stream_, asio::buffer(chunk_), std::move(on_written));
    asio::async_write(stream_, bhttp::make_chunk(asio::buffer(chunk_)), std::move(on_written));
  }

  void after_response(beast::error_code ec) {
    exchange_.finish();
    if (parser_) parser_->get().body().allowance.release();  // the body is gone (finish)
    source_ = nullptr;
    chunk_ = std::string();
    if (ec) return close_now();
    if (!keep_alive_) return close_gracefully();
    wait_for_request();
  }

  // Half-closes, then reads and discards what the client still sends for a short while, so that
  // the client reads our answer instead of a reset.
  void close_gracefully() {
    const auto linger = std::min(state_.options.limits.write_timeout, kMaxLinger);
    if constexpr (kTls) {
      arm(Waiting::Write, linger);
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->close_now(); });
    } else {
      beast::error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      discard_ = std::make_unique<std::array<char, kDiscardSize>>();
      arm(Waiting::Write, linger);
      discard_more();
    }
  }

  void discard_more() {
    socket().async_read_some(asio::buffer(*discard_), [self = this->shared_from_this()](
                                                          beast::error_code ec, std::size_t n) {
      self->discarded_ += n;
      if (ec || self->discarded_ > kMaxDiscard) return self->close_now();
      self->discard_more();
    });
  }

  void close_now() {
    disarm();
    beast::error_code ignored;
    socket().close(ignored);
  }

  static constexpr std::size_t kReadSize = 4096;
  static constexpr std::size_t kDiscardSize = 16 * 1024;
  static constexpr std::size_t kMaxDiscard = 1024 * 1024;
  static constexpr std::chrono::milliseconds kMaxLinger{2000};

  Server::State& state_;
  Stream stream_;
  asio::steady_timer timer_;
  ConnectionSlot slot_;
  std::string peer_;
  Exchange exchange_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<RequestBody>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  std::optional<bhttp::response<bhttp::string_body>> reply_;
  std::optional<bhttp::response<bhttp::empty_body>> stream_header_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> header_serializer_;
  ChunkSource source_;
  std::string chunk_;
  bool raw_stream_ = false;
  std::unique_ptr<std::array<char, kDiscardSize>> discard_;
  std::size_t discarded_ = 0;
  Waiting waiting_ = Waiting::Nothing;
  Waiting timed_out_ = Waiting::Nothing;
  std::uint64_t generation_ = 0;
  bool keep_alive_ = false;
  bool stop_requested_ = false;
};

}  // namespace postern::http::detail
