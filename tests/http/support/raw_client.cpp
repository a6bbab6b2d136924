#include "raw_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace postern::test {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::optional<std::size_t> parse_size(std::string_view text, int base) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return value;
}

}  // namespace

std::string RawResponse::message() const {
  const auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("message") || !parsed["message"].is_string())
    return {};
  return parsed["message"].get<std::string>();
}

RawClient::RawClient(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawClient::RawClient(RawClient&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

bool RawClient::readable(std::chrono::milliseconds wait) const {
  pollfd entry{fd_, POLLIN, 0};
  return ::poll(&entry, 1, static_cast<int>(wait.count())) == 1;
}

std::size_t RawClient::send_until_answered(std::string_view bytes,
                                           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::size_t total = 0;
  while (total < bytes.size() && Clock::now() < deadline) {
    pollfd entry{fd_, POLLIN | POLLOUT, 0};
    if (::poll(&entry, 1, remaining_ms(deadline)) <= 0) break;
    if ((entry.revents & (POLLIN | POLLERR | POLLHUP)) != 0) break;
    const auto piece = bytes.substr(total, 64 * 1024);
    const auto sent = ::send(fd_, piece.data(), piece.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (sent <= 0) break;
    total += static_cast<std::size_t>(sent);
  }
  return total;
}

bool RawClient::fill(Clock::time_point deadline) {
  pollfd entry{fd_, POLLIN, 0};
  if (::poll(&entry, 1, remaining_ms(deadline)) != 1) return false;
  char chunk[16384];
  const auto got = ::recv(fd_, chunk, sizeof chunk, 0);
  if (got <= 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(got));
  return true;
}

std::optional<std::size_t> RawClient::wait_for(std::string_view marker, std::size_t from,
                                               Clock::time_point deadline) {
  for (;;) {
    const auto at = buffer_.find(marker, from);
    if (at != std::string::npos) return at;
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<RawResponse> RawClient::read_response(std::chrono::milliseconds timeout, bool head) {
  const auto deadline = Clock::now() + timeout;
  const auto header_end = wait_for("\r\n\r\n", 0, deadline);
  if (!header_end) return std::nullopt;
  RawResponse response;
  std::string_view head_text(buffer_.data(), *header_end);
  const auto first_line_end = head_text.find("\r\n");
  const auto status_line = head_text.substr(0, first_line_end);
  if (status_line.size() < 12) return std::nullopt;
  response.status = static_cast<int>(parse_size(status_line.substr(9, 3), 10).value_or(0));
  auto rest = first_line_end == std::string_view::npos ? std::string_view{}
                                                       : head_text.substr(first_line_end + 2);
  while (!rest.empty()) {
    const auto line_end = rest.find("\r\n");
    const auto line = rest.substr(0, line_end);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      response.headers.add(std::string(line.substr(0, colon)), std::string(value));
    }
    rest = line_end == std::string_view::npos ? std::string_view{} : rest.substr(line_end + 2);
  }
  std::size_t position = *header_end + 4;
  const bool no_body =
      head || response.status == 204 || response.status == 304 || response.status / 100 == 1;
  if (no_body) {
  } else if (const auto length = response.header("Content-Length")) {
    const auto size = parse_size(*length, 10).value_or(0);
    while (buffer_.size() < position + size) {
      if (!fill(deadline)) return std::nullopt;
    }
    response.body = buffer_.substr(position, size);
    position += size;
  } else if (response.header("Transfer-Encoding")) {
    for (;;) {
      const auto size_end = wait_for("\r\n", position, deadline);
      if (!size_end) return std::nullopt;
      const auto size =
          parse_size(std::string_view(buffer_).substr(position, *size_end - position), 16);
      if (!size) return std::nullopt;
      position = *size_end + 2;
      while (buffer_.size() < position + *size + 2) {
        if (!fill(deadline)) return std::nullopt;
      }
      response.body.append(buffer_, position, *size);
      position += *size + 2;
      if (*size == 0) break;
    }
  } else {
    while (fill(deadline)) {
    }
    response.body = buffer_.substr(position);
    position = buffer_.size();
  }
  buffer_.erase(0, position);
  return response;
}

bool RawClient::closed_within(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd entry{fd_, POLLIN, 0};
    if (::poll(&entry, 1, remaining_ms(deadline)) != 1) return false;
    char chunk[4096];
    const auto got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return true;
  }
}

std::string request_text(std::string_view method, std::string_view target, std::string_view body,
                         std::string_view extra) {
  auto text = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}", method, target, extra);
  if (!body.empty()) text += fmt::format("Content-Length: {}\r\n", body.size());
  text += "\r\n";
  text += body;
  return text;
}

}  // namespace postern::test
