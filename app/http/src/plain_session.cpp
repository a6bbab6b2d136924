#include "plain_session.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>

#include "read_when_ready.hpp"
#include "response_bytes.hpp"
#include "server_state.hpp"

namespace postern::http::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kReadSize = 16 * 1024;
// Bytes read in one go before they are parsed: bounds the buffer while a large body streams in.
constexpr std::size_t kReadBurst = 64 * 1024;
constexpr std::size_t kDiscardSize = 16 * 1024;
constexpr std::size_t kMaxDiscard = 1024 * 1024;
constexpr std::chrono::milliseconds kMaxLinger{2000};

bool would_block(const boost::system::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

PlainSession::PlainSession(Server::State& state, Worker& worker, tcp::socket socket,
                           ConnectionSlot slot, std::string peer)
    : state_(state),
      worker_(worker),
      socket_(std::move(socket)),
      slot_(std::move(slot)),
      peer_(std::move(peer)),
      exchange_(state, peer_, worker.helpers()) {}

PlainSession::~PlainSession() { worker_.remove(this); }

void PlainSession::start() {
  worker_.add(this);
  slot_.track(weak_from_this());
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  enter(Phase::Idle, state_.options.limits.idle_timeout);
  drive();
}

void PlainSession::refuse(Response response) {
  worker_.add(this);
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  exchange_.start();
  send(std::move(response), true);
  drive();
}

void PlainSession::on_server_stop(std::shared_ptr<Stoppable> self) {
  asio::post(socket_.get_executor(), [this, self = std::move(self)] {
    stop_requested_ = true;
    if (phase_ == Phase::Idle && waiting_) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
    }
  });
}

void PlainSession::on_deadline() {
  timed_out_ = phase_;
  boost::system::error_code ignored;
  socket_.cancel(ignored);
}

void PlainSession::enter(Phase phase, std::chrono::milliseconds timeout) {
  phase_ = phase;
  set_deadline(SteadyClock::now() + timeout);
}

// Runs steps until one has to wait for the socket or the connection is done. A loop rather than
// recursion: a buffer full of pipelined requests must not deepen the stack.
void PlainSession::drive() {
  while (step() == Step::Continue) {
  }
}

PlainSession::Step PlainSession::step() {
  switch (phase_) {
    case Phase::Idle:
    case Phase::Header:
    case Phase::Body:
      return read_step();
    case Phase::Answering:
      return Step::Done;  // resume() continues
    case Phase::Write:
      return write_step();
    case Phase::Linger:
      return linger_step();
    case Phase::Closed:
      return Step::Done;
  }
  return Step::Done;
}

void PlainSession::begin_request() {
  exchange_.start();
  const auto& limits = state_.options.limits;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser_->body_limit(limits.max_body_bytes);
  parser_->get().body().allowance = BodyAllowance(&state_.body_budget);
  admitted_ = false;
  enter(Phase::Header, limits.header_timeout);
}

PlainSession::Read PlainSession::read_available() {
  std::size_t got = 0;
  while (got < kReadBurst) {
    boost::system::error_code ec;
    const auto n = socket_.read_some(buffer_.prepare(kReadSize), ec);
    if (would_block(ec)) return got > 0 ? Read::Data : Read::WouldBlock;
    if (ec) {
      read_error_ = ec;
      return got > 0 ? Read::Data : Read::Closed;
    }
    buffer_.commit(n);
    got += n;
    if (n < kReadSize) break;  // most likely drained: spare the receive that says so
  }
  return Read::Data;
}

// Feeds the buffer to the parser; stops after the header until the request is admitted, so an
// unauthenticated body is never parsed. need_more means the bytes ran out.
boost::system::error_code PlainSession::parse() {
  beast::error_code ec;
  while (!parser_->is_done()) {
    if (parser_->is_header_done() && !admitted_) return {};
    if (buffer_.size() == 0) return bhttp::error::need_more;
    const auto used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec) return ec;
    if (used == 0) return bhttp::error::need_more;
  }
  return {};
}

PlainSession::Step PlainSession::read_step() {
  if (!parser_) {
    if (stop_requested_ || state_.stopping) return close_now();
    if (buffer_.size() == 0) {
      if (read_error_) return close_now();
      // Between requests: the read that waits receives first unless the socket is known to be
      // drained, so a receive here would only be a second one that finds it empty.
      if (phase_ != Phase::Idle) enter(Phase::Idle, state_.options.limits.idle_timeout);
      return wait_readable();
    }
    begin_request();
  }
  const auto ec = parse();
  if (ec && ec != bhttp::error::need_more) {
    auto response = exchange_.read_failure(ec, false, false);
    if (!response) return close_now();
    send(std::move(*response), true);
    return Step::Continue;
  }
  if (parser_->is_header_done() && !admitted_) {
    admitted_ = true;
    auto verdict = exchange_.admit(parser_->get(), !parser_->is_done(), false);
    if (verdict.rejection) {
      send(std::move(*verdict.rejection), verdict.close_after || !parser_->is_done());
      return Step::Continue;
    }
    if (!parser_->is_done()) {
      enter(Phase::Body, state_.options.limits.body_timeout);
      if (verdict.expects_continue && buffer_.size() == 0) {
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_,
                                                 parser_->get().version()};
        append_response(out_, go_on, false);
        continue_pending_ = true;
        enter(Phase::Write, state_.options.limits.write_timeout);
      }
    }
    return Step::Continue;
  }
  if (parser_->is_done()) return answer(exchange_.handle(parser_->get()));
  // The request is incomplete: read more, or wait for it.
  if (read_error_) {
    beast::error_code eof_ec;
    parser_->put_eof(eof_ec);
    auto response = exchange_.read_failure(eof_ec ? eof_ec : read_error_, false, false);
    if (!response) return close_now();
    send(std::move(*response), true);
    return Step::Continue;
  }
  const auto read = read_available();
  if (read == Read::Data) return Step::Continue;
  if (read == Read::Closed) return Step::Continue;  // read_error_ is set: handled above
  return wait_readable();
}

PlainSession::Step PlainSession::answer(Response response) {
  if (!response.pending) {
    send(std::move(response), false);
    return Step::Continue;
  }
  phase_ = Phase::Answering;
  clear_deadline();  // the handler always answers (its own work has its own bounds)
  // `keep` is released last: the server's state, and with it this worker, outlives the session.
  struct Parked {
    std::shared_ptr<Server::State> keep;
    std::shared_ptr<PlainSession> self;
  };
  auto parked = std::make_shared<Parked>(Parked{state_.shared_from_this(), shared_from_this()});
  response.pending->on_complete([parked](PendingResponse::Answer answer) {
    // The session is released on its own thread only (its destructor touches the worker): the
    // reference moves into the posted handler, none stays on the thread that completed.
    auto self = std::move(parked->self);
    auto& io = self->worker_.io();
    asio::post(io, [self = std::move(self), answer = std::move(answer)] {
      self->resume(self->exchange_.answer(answer));
    });
  });
  return Step::Done;
}

void PlainSession::resume(Response response) {
  send(std::move(response), false);
  drive();
}

void PlainSession::send(Response response, bool close_after) {
  const bool request_keep_alive =
      parser_ && parser_->is_header_done() && parser_->get().keep_alive();
  keep_alive_ = !close_after && request_keep_alive && !stop_requested_ && !state_.stopping;
  const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
  out_.clear();
  sent_ = 0;
  if (response.stream && !exchange_.is_head()) {
    source_ = std::move(response.stream);
    raw_stream_ = version < 11;  // HTTP/1.0 has no chunked encoding
    if (raw_stream_) keep_alive_ = false;
    auto header =
        exchange_.prepare_stream_header(std::move(response), version, keep_alive_, !raw_stream_);
    append_response(out_, header, true);
  } else if (!exchange_.append_direct(out_, response, version, keep_alive_)) {
    auto reply = exchange_.prepare(std::move(response), version, keep_alive_);
    append_response(out_, reply, false);
    exchange_.add_response_bytes(exchange_.is_head() ? 0 : reply.body().size());
  }
  enter(Phase::Write, state_.options.limits.write_timeout);
}

// The next piece of a streamed body into out_, framed as a chunk (or raw for HTTP/1.0); after the
// last one the chunk terminator. A failing source cuts the body short and closes afterwards.
void PlainSession::next_chunk() {
  const auto piece = next_piece(source_, chunk_);
  if (piece == Piece::More) {
    exchange_.add_response_bytes(chunk_.size());
    if (raw_stream_) {
      out_.append(chunk_);
    } else {
      append_buffers(out_, bhttp::make_chunk(asio::buffer(chunk_)));
    }
    return;
  }
  source_ = nullptr;
  if (piece == Piece::Failed) {
    keep_alive_ = false;
  } else if (!raw_stream_) {
    append_buffers(out_, bhttp::make_chunk_last());
  }
}

PlainSession::Step PlainSession::write_step() {
  while (sent_ < out_.size()) {
    boost::system::error_code ec;
    const auto n = socket_.write_some(asio::buffer(out_.data() + sent_, out_.size() - sent_), ec);
    if (would_block(ec)) return wait_writable();
    if (ec) {
      exchange_.finish();
      return close_now();
    }
    sent_ += n;
  }
  out_.clear();
  sent_ = 0;
  if (continue_pending_) {
    continue_pending_ = false;
    enter(Phase::Body, state_.options.limits.body_timeout);
    return Step::Continue;
  }
  if (source_) {
    next_chunk();
    chunk_.clear();
    enter(Phase::Write, state_.options.limits.write_timeout);
    return Step::Continue;
  }
  after_response();
  return Step::Continue;
}

void PlainSession::after_response() {
  exchange_.finish();
  parser_.reset();
  chunk_ = std::string();
  if (keep_alive_) {
    enter(Phase::Idle, state_.options.limits.idle_timeout);
  } else {
    begin_linger();
  }
}

// Half-closes, then reads and discards what the client still sends for a short while, so that
// the client reads our answer instead of a reset.
void PlainSession::begin_linger() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  buffer_.clear();
  enter(Phase::Linger, std::min(state_.options.limits.write_timeout, kMaxLinger));
}

PlainSession::Step PlainSession::linger_step() {
  for (;;) {
    boost::system::error_code ec;
    const auto n = socket_.read_some(buffer_.prepare(kDiscardSize), ec);
    if (would_block(ec)) return wait_readable();
    discarded_ += n;
    if (ec || n == 0 || discarded_ > kMaxDiscard) return close_now();
  }
}

PlainSession::Step PlainSession::wait_readable() {
  waiting_ = true;
  if (phase_ == Phase::Linger) {  // discards: nothing to keep
    socket_.async_wait(
        tcp::socket::wait_read,
        [self = shared_from_this()](boost::system::error_code ec) { self->on_ready(ec); });
    return Step::Wait;
  }
  // A read rather than a wait for readability: Asio re-arms the descriptor in epoll for every
  // wait (an epoll_ctl each time a keep-alive connection goes idle), not for a read. Not
  // async_read_some, which first receives from the socket the answer's read just drained.
  async_read_when_ready(
      socket_, buffer_.prepare(kReadSize),
      [self = shared_from_this()](boost::system::error_code ec, std::size_t bytes) {
        self->on_read(ec, bytes);
      });
  return Step::Wait;
}

void PlainSession::on_read(boost::system::error_code ec, std::size_t bytes) {
  buffer_.commit(bytes);
  // End of stream or a reset is kept for the step that reads next, as read_available does.
  if (ec && ec != asio::error::operation_aborted) {
    read_error_ = ec;
    ec = {};
  }
  on_ready(ec);
}

PlainSession::Step PlainSession::wait_writable() {
  waiting_ = true;
  socket_.async_wait(
      tcp::socket::wait_write,
      [self = shared_from_this()](boost::system::error_code ec) { self->on_ready(ec); });
  return Step::Wait;
}

void PlainSession::on_ready(boost::system::error_code ec) {
  waiting_ = false;
  const auto timed_out = timed_out_;
  timed_out_ = Phase::Closed;
  if (phase_ == Phase::Closed) return;
  if (timed_out == Phase::Header || timed_out == Phase::Body) {
    auto response = exchange_.read_failure(asio::error::timed_out, timed_out == Phase::Header,
                                           timed_out == Phase::Body);
    if (response) send(std::move(*response), true);
    return drive();
  }
  if (timed_out != Phase::Closed) return static_cast<void>(close_now());  // idle, write, linger
  if (ec && !(ec == asio::error::operation_aborted && stop_requested_)) {
    return static_cast<void>(close_now());
  }
  drive();
}

PlainSession::Step PlainSession::close_now() {
  phase_ = Phase::Closed;
  clear_deadline();
  boost::system::error_code ignored;
  socket_.close(ignored);
  return Step::Done;
}

}  // namespace postern::http::detail
