#pragma once
// The body of a request as Beast parses it: a std::string, as with string_body, but each piece
// appended as it arrives, where string_body first resizes the string (writing zeros over the
// room) and then copies the piece over them. A 64 KiB batch body was written twice. Bodies over
// 16 KiB are counted against the server's body budget (body_budget.hpp) as they are sized or grow.

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <string>

#include "body_budget.hpp"

namespace postern::http::detail {

// What a read fails with when the body budget is spent (answered 503).
[[nodiscard]] inline boost::system::error_code body_budget_spent() {
  return boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
}

struct RequestBody {
  struct value_type {
    std::string text;
    BodyAllowance allowance;  // unset (nothing counted) until the session gives it the budget
  };

  // Parsing only: requests are never serialised (answers use string_body).
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>& /*header*/, value_type& body)
        : body_(body) {}

    // With a Content-Length the string is sized once; the parser's body limit (checked before
    // this is called) bounds it, and the budget must cover it before it is allocated.
    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      ec = {};
      if (!length) return;
      if (*length > body_.text.max_size()) {
        ec = boost::beast::http::error::buffer_overflow;
        return;
      }
      if (!body_.allowance.cover(*length)) {
        ec = body_budget_spent();
        return;
      }
      body_.text.reserve(static_cast<std::size_t>(*length));
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      const std::size_t bytes = boost::beast::buffer_bytes(buffers);
      auto& text = body_.text;
      if (bytes > text.max_size() - text.size()) {
        ec = boost::beast::http::error::buffer_overflow;
        return 0;
      }
      if (!body_.allowance.cover(text.size() + bytes)) {  // a chunked body growing
        ec = body_budget_spent();
        return 0;
      }
      ec = {};
      for (const auto piece : boost::beast::buffers_range_ref(buffers)) {
        text.append(static_cast<const char*>(piece.data()), piece.size());
      }
      return bytes;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace postern::http::detail
