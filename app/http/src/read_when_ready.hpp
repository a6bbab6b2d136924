#pragma once
// An asynchronous read that does not receive from a socket it has just drained.
//
// Asio 1.18 (Boost 1.74, Debian 12) starts every read with a receive, before waiting for epoll to
// report the socket readable, unless the previous read found the end of the stream. Between
// keep-alive requests that receive finds the socket empty nearly always: a system call per request
// for nothing (3.6 per check instead of 2.6; nginx makes 2.6). Later Asio versions treat a read
// shorter than its buffer as having drained the socket and skip that first receive until epoll
// reports new bytes; this operation does the same on 1.18, through the reactor interface Asio's own
// socket operations use. The first receive is skipped only while no readiness event arrived since
// the drained read, so bytes that came in meanwhile are never left waiting for an edge that will
// not come. Other Asio versions and reactors get the plain async_read_some.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/version.hpp>
#include <cstddef>
#include <memory>
#include <utility>

#if BOOST_ASIO_VERSION == 101800 && defined(BOOST_ASIO_HAS_EPOLL)
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#define POSTERN_READ_WHEN_READY_ON_REACTOR 1
#endif

namespace postern::http::detail {

#ifdef POSTERN_READ_WHEN_READY_ON_REACTOR

namespace read_when_ready_impl {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The socket's reactor state is a protected member of basic_socket; a pointer to it, taken in a
// derived class, reads it without an object of that class.
struct SocketAccess : tcp::socket {
  static constexpr auto member = &SocketAccess::impl_;
};

template <typename Handler>
class Operation : public asio::detail::reactor_op {
 public:
  Operation(asio::detail::socket_type fd, asio::mutable_buffer buffer, Handler handler)
      : reactor_op(boost::system::error_code(), &Operation::perform_read, &Operation::complete),
        fd_(fd),
        buffer_(buffer),
        handler_(std::move(handler)) {}

 private:
  // Called by the reactor: when the read starts (unless the socket is known drained) and on each
  // readiness event. A short read marks the socket drained, which the reactor keeps until the
  // next event.
  static status perform_read(reactor_op* base) {
    auto* op = static_cast<Operation*>(base);
    const bool finished = asio::detail::socket_ops::non_blocking_recv1(
        op->fd_, op->buffer_.data(), op->buffer_.size(), 0, true, op->ec_, op->bytes_transferred_);
    if (!finished) return not_done;
    return op->bytes_transferred_ < op->buffer_.size() ? done_and_exhausted : done;
  }

  // `owner` is null when the io_context is destroyed with the read pending: freed, not called.
  static void complete(void* owner, asio::detail::scheduler_operation* base,
                       const boost::system::error_code& /*unused*/, std::size_t /*unused*/) {
    std::unique_ptr<Operation> op(static_cast<Operation*>(base));
    if (owner == nullptr) return;
    auto handler = std::move(op->handler_);
    const auto ec = op->ec_;
    const auto bytes = op->bytes_transferred_;
    op.reset();  // freed before the handler runs, which may start the next read
    handler(ec, bytes);
  }

  asio::detail::socket_type fd_;
  asio::mutable_buffer buffer_;
  Handler handler_;
};

}  // namespace read_when_ready_impl

// Reads into `buffer` once the socket has bytes; calls handler(error_code, bytes) on the socket's
// executor. Cancelled by socket.cancel() and close() like any read. Only for a socket whose
// io_context is run by one thread (the handler is the operation's, not posted to an executor).
template <typename Handler>
void async_read_when_ready(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer buffer,
                           Handler&& handler) {
  namespace impl = read_when_ready_impl;
  auto& state = (socket.*impl::SocketAccess::member).get_implementation();
  auto& reactor = boost::asio::use_service<boost::asio::detail::reactor>(
      boost::asio::query(socket.get_executor(), boost::asio::execution::context));
  auto op = std::make_unique<impl::Operation<std::decay_t<Handler>>>(
      state.socket_, buffer, std::forward<Handler>(handler));
  reactor.start_op(boost::asio::detail::reactor::read_op, state.socket_, state.reactor_data_,
                   op.release(), false, true);
}

#else

template <typename Handler>
void async_read_when_ready(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer buffer,
                           Handler&& handler) {
  socket.async_read_some(buffer, std::forward<Handler>(handler));
}

#endif

}  // namespace postern::http::detail
