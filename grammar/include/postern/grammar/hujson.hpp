#pragma once
// HuJSON (JSON + comments + one trailing comma) parser, spec policy-language.md §1.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "postern/grammar/diag.hpp"
#include "postern/grammar/json_value.hpp"

namespace postern::grammar::hujson {

// Maximum nesting of arrays/objects; deeper input is a clean H-error, never a stack overflow.
inline constexpr std::size_t kMaxDepth = 512;

// Parse the whole file into a document. A syntax error is fatal: exactly one diagnostic.
Parsed<json::Value> parse(const SourceFile& file);

// Streaming consumer (the taocpp/json "events" role): the parser calls these in source order
// without building a document. Spans are byte offsets into the parsed text. String arguments
// point into the input or into a scratch buffer and are valid only during the call.
class Events {
 public:
  Events() = default;
  Events(const Events&) = default;
  Events& operator=(const Events&) = default;
  Events(Events&&) = default;
  Events& operator=(Events&&) = default;
  virtual ~Events() = default;

  virtual void null_value(Span span) = 0;
  virtual void bool_value(bool value, Span span) = 0;
  // `text` is the number exactly as written (it may overflow a double; see number_value).
  virtual void number_value(std::string_view text, Span span) = 0;
  // `decoded` is UTF-8 with escapes resolved; `verbatim` when the source had no escapes.
  virtual void string_value(std::string_view decoded, bool verbatim, Span span) = 0;
  virtual void begin_array(std::uint32_t begin) = 0;
  virtual void end_array(Span span) = 0;
  virtual void begin_object(std::uint32_t begin) = 0;
  virtual void key(std::string_view decoded, bool verbatim, Span span) = 0;
  virtual void end_object(Span span) = 0;
  // A `//` (including its newline) or `/* */` comment. Most consumers ignore these.
  virtual void comment(Span /*span*/) {}
};

// Parse `text` (a whole HuJSON document) and report it to `events`. Returns the single syntax
// diagnostic on failure; events may have been delivered for the part before the error.
std::optional<Diagnostic> parse_events(std::string_view text, Events& events);

// The double of a valid JSON number literal; +-inf when it overflows, +-0 when it underflows.
double number_value(std::string_view text);

// The text with every comment and trailing comma replaced by spaces (newlines inside comments
// are kept), so offsets and line numbers of what remains are unchanged: standard JSON.
Parsed<std::string> standardize(const SourceFile& file);

// Writes compact standard JSON (RFC 8259) for the events it receives: numbers as written,
// strings re-escaped, comments dropped. Output is buffered and handed to `sink` in chunks of
// about `chunk_size` bytes; call flush() at the end.
class JsonWriter final : public Events {
 public:
  using Sink = std::function<void(std::string_view)>;
  explicit JsonWriter(Sink sink, std::size_t chunk_size = 64 * 1024);

  void null_value(Span span) override;
  void bool_value(bool value, Span span) override;
  void number_value(std::string_view text, Span span) override;
  void string_value(std::string_view decoded, bool verbatim, Span span) override;
  void begin_array(std::uint32_t begin) override;
  void end_array(Span span) override;
  void begin_object(std::uint32_t begin) override;
  void key(std::string_view decoded, bool verbatim, Span span) override;
  void end_object(Span span) override;
  void flush();

 private:
  void before_value();
  void maybe_flush();

  Sink sink_;
  std::size_t chunk_size_;
  std::string buffer_;
  bool need_comma_ = false;  // a value was written in the current container
};

}  // namespace postern::grammar::hujson
