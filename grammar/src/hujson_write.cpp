// JsonWriter: an Events consumer that writes compact standard JSON, for `postern hujson`.
#include <utility>

#include "postern/grammar/hujson.hpp"

namespace postern::grammar::hujson {

JsonWriter::JsonWriter(Sink sink, std::size_t chunk_size)
    : sink_(std::move(sink)), chunk_size_(chunk_size) {
  buffer_.reserve(chunk_size_ + 1024);
}

void JsonWriter::before_value() {
  if (need_comma_) buffer_ += ',';
  need_comma_ = true;
}

void JsonWriter::maybe_flush() {
  if (buffer_.size() >= chunk_size_) flush();
}

void JsonWriter::flush() {
  if (buffer_.empty()) return;
  sink_(buffer_);
  buffer_.clear();
}

void JsonWriter::null_value(Span /*span*/) {
  before_value();
  buffer_ += "null";
  maybe_flush();
}

void JsonWriter::bool_value(bool value, Span /*span*/) {
  before_value();
  buffer_ += value ? "true" : "false";
  maybe_flush();
}

void JsonWriter::number_value(std::string_view text, Span /*span*/) {
  before_value();
  buffer_ += text;
  maybe_flush();
}

void JsonWriter::string_value(std::string_view decoded, bool /*verbatim*/, Span /*span*/) {
  before_value();
  json::append_json_string(buffer_, decoded);
  maybe_flush();
}

void JsonWriter::begin_array(std::uint32_t /*begin*/) {
  before_value();
  buffer_ += '[';
  need_comma_ = false;
}

void JsonWriter::end_array(Span /*span*/) {
  buffer_ += ']';
  need_comma_ = true;
  maybe_flush();
}

void JsonWriter::begin_object(std::uint32_t /*begin*/) {
  before_value();
  buffer_ += '{';
  need_comma_ = false;
}

void JsonWriter::key(std::string_view decoded, bool /*verbatim*/, Span /*span*/) {
  if (need_comma_) buffer_ += ',';
  json::append_json_string(buffer_, decoded);
  buffer_ += ':';
  need_comma_ = false;  // the member's value follows the colon directly
}

void JsonWriter::end_object(Span /*span*/) {
  buffer_ += '}';
  need_comma_ = true;
  maybe_flush();
}

}  // namespace postern::grammar::hujson
