#pragma once
// One request/response exchange on a connection, apart from the I/O: the checks between header
// and body, the handler call, the response's fields, and the access record.

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "postern/http/server.hpp"
#include "request_body.hpp"

namespace postern::http::detail {

using RequestHeader = boost::beast::http::request<RequestBody>;
using Reply = boost::beast::http::response<boost::beast::http::string_body>;
using StreamHeader = boost::beast::http::response<boost::beast::http::empty_body>;

// The next non-empty piece of a streamed body, into `out`. A source that throws is Failed: the
// status line is gone already, so the body can only be cut short (the client sees an incomplete
// response).
enum class Piece { More, End, Failed };
[[nodiscard]] Piece next_piece(const ChunkSource& source, std::string& out);

class Exchange {
 public:
  // `helpers`: the server's other threads, offered to handlers (Request::helpers); may be null.
  Exchange(Server::State& state, std::string_view peer, Helpers* helpers)
      : state_(state), peer_(peer), helpers_(helpers) {}

  // A new request begins (its first bytes are here).
  void start();

  struct Verdict {
    std::optional<Response> rejection;  // answer this and do not read the body
    bool expects_continue = false;      // `Expect: 100-continue` before a body
    bool close_after = false;           // the framing is unreliable: close after the rejection
  };
  // Checks a request whose header has been read, in this order: header count, framing
  // (Transfer-Encoding, fields that must appear once), method, target, Host, route, OPTIONS/CORS
  // preflight, Origin, credential, Content-Type.
  [[nodiscard]] Verdict admit(const RequestHeader& header, bool has_body, bool tls);

  // The answer to a failed read, or nullopt when the connection should just close.
  [[nodiscard]] std::optional<Response> read_failure(boost::system::error_code ec,
                                                     bool header_timed_out,
                                                     bool body_timed_out) const;

  // Calls the route's handler; an exception becomes a 500.
  // The route's answer to the complete `message` (its body moved out; the body's share of the
  // body budget is what the handler may grow, Request::memory), or 431 for trailer fields of a
  // chunked body beyond the header limits.
  [[nodiscard]] Response handle(RequestHeader& message);
  // 431 when the trailer fields (after a chunked body) break the header limits.
  [[nodiscard]] std::optional<Response> check_trailers(const RequestHeader& message) const;
  // Makes a pending response's answer; an exception becomes a 500.
  [[nodiscard]] Response answer(const PendingResponse::Answer& make);

  [[nodiscard]] Reply prepare(Response response, unsigned version, bool keep_alive);
  // Appends `response` whole (not streamed) to `out` as append_response(prepare(...)) writes it,
  // without building Beast's message, and counts its body; false, and nothing written, when it
  // carries fields of its own or does not fit a direct reply (direct_reply_fits).
  [[nodiscard]] bool append_direct(std::string& out, const Response& response, unsigned version,
                                   bool keep_alive);
  [[nodiscard]] StreamHeader prepare_stream_header(Response response, unsigned version,
                                                   bool keep_alive, bool chunked);
  [[nodiscard]] bool is_head() const { return request_.method == Method::Head; }
  void add_response_bytes(std::uint64_t bytes) { response_bytes_ += bytes; }

  // Reports the exchange to the access log (once) and frees a large request body.
  void finish();

 private:
  [[nodiscard]] std::optional<Response> check_target(const RequestHeader& header,
                                                     std::size_t header_count);
  [[nodiscard]] std::optional<Response> take_absolute_form();
  [[nodiscard]] std::optional<Response> check_route(bool tls);
  [[nodiscard]] std::optional<Response> answer_options(const Resolution& resolution) const;
  [[nodiscard]] Response answer_server_options() const;
  [[nodiscard]] std::optional<Response> authenticate();
  void report() const;
  template <class Message>
  void add_common_fields(Message& message, const Response& response) const;

  Server::State& state_;
  std::string_view peer_;
  Helpers* helpers_;
  Request request_;
  const Route* route_ = nullptr;
  std::string_view pattern_;  // the router's
  std::string method_text_;
  std::string cors_origin_;  // set when the request's Origin is a configured CORS origin
  std::chrono::steady_clock::time_point started_;
  std::uint64_t response_bytes_ = 0;
  std::size_t header_fields_ = 0;  // fields of the header section (those after it are trailers)
  std::size_t body_bytes_ = 0;  // the request body's size (the body may be freed before the report)
  int status_ = 0;
  bool active_ = false;
};

}  // namespace postern::http::detail
