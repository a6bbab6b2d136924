// Fuzz target for the HuJSON parser. Invariants: no crash or UB; a failure is exactly one error
// diagnostic whose span lies inside the text; a success re-serialises to standard JSON that
// parses back to the same value, and the streaming writer and standardize() agree with it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "postern/grammar/hujson.hpp"

namespace {

namespace hujson = postern::grammar::hujson;
namespace json = postern::grammar::json;
using postern::grammar::Severity;
using postern::grammar::SourceFile;

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const SourceFile file("fuzz.hujson", std::string(reinterpret_cast<const char*>(data), size));
  const auto parsed = hujson::parse(file);
  if (!parsed.ok()) {
    require(parsed.diags.size() == 1);
    const auto& d = parsed.diags.front();
    require(d.severity == Severity::Error);
    require(d.span.begin <= d.span.end && d.span.end <= size);
    require(!d.message.empty());
    (void)postern::grammar::render(file, d);
    return 0;
  }
  require(parsed.diags.empty());
  const std::string standard = json::to_json(*parsed.value);
  const auto again = hujson::parse(SourceFile("again", standard));
  require(again.ok());
  require(json::to_json(*again.value) == standard);

  std::string streamed;
  hujson::JsonWriter writer([&](std::string_view chunk) { streamed += chunk; }, 256);
  require(!hujson::parse_events(file.text(), writer).has_value());
  writer.flush();
  require(streamed == standard);

  const auto stripped = hujson::standardize(file);
  require(stripped.ok() && stripped.value->size() == size);
  const auto reparsed = hujson::parse(SourceFile("stripped", *stripped.value));
  require(reparsed.ok());
  require(json::to_json(*reparsed.value) == standard);
  return 0;
}
