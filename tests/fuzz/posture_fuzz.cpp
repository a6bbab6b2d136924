// Fuzz target for posture conditions (and compare_versions on the same bytes).
// Invariants: no crash or UB; a failed parse gives at least one error and every diagnostic span
// lies inside the condition; a successful parse prints (to_string) to text that parses back to an
// equivalent condition and prints the same again; compare_versions is antisymmetric and reflexive.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/engine/cmpver.hpp"
#include "postern/grammar/posture.hpp"

namespace {

using postern::grammar::Parsed;
using postern::grammar::SourceFile;
using postern::grammar::Span;
namespace posture = postern::grammar::posture;

void require(bool condition) {
  if (!condition) std::abort();
}

bool inside(Span span, Span outer) {
  return outer.begin <= span.begin && span.begin <= span.end && span.end <= outer.end;
}

// Parses `text` as the content of a JSON string in a one-line policy fragment.
Parsed<posture::Condition> parse_embedded(std::string_view text, bool verbatim, Span& span_out) {
  static const std::string kPrefix = "{\"postures\":{\"posture:f\":[\"";
  const SourceFile file("fuzz.hujson", kPrefix + std::string(text) + "\"]}}");
  span_out = Span{static_cast<std::uint32_t>(kPrefix.size()),
                  static_cast<std::uint32_t>(kPrefix.size() + text.size())};
  return posture::parse(file, text, span_out, verbatim);
}

void check_result(const Parsed<posture::Condition>& result, Span span) {
  for (const auto& diag : result.diags) require(inside(diag.span, span));
  if (!result.ok()) {
    require(result.has_errors());
    return;
  }
  const auto& c = *result.value;
  require(inside(c.span, span) && inside(c.attribute_span, span) && inside(c.op_span, span));
  for (const auto& literal : c.operands) require(inside(literal.span, span));
}

void check_posture(std::string_view text) {
  Span span;
  const auto result = parse_embedded(text, true, span);
  check_result(result, span);

  // Without verbatim positions the outcome is the same and every span is the whole string.
  Span loose_span;
  const auto loose = parse_embedded(text, false, loose_span);
  check_result(loose, loose_span);
  require(loose.ok() == result.ok());
  for (const auto& diag : loose.diags) require(diag.span == loose_span);

  if (!result.ok()) return;
  const std::string printed = posture::to_string(*result.value);
  Span again_span;
  const auto again = parse_embedded(printed, true, again_span);
  require(again.ok());
  require(posture::equivalent(*again.value, *result.value));
  require(posture::to_string(*again.value) == printed);
}

void check_versions(std::string_view bytes) {
  const std::size_t cut = bytes.find('\n');
  const std::string_view a =
      bytes.substr(0, cut == std::string_view::npos ? bytes.size() / 2 : cut);
  const std::string_view b = bytes.substr(a.size());
  const int ab = postern::engine::compare_versions(a, b);
  const int ba = postern::engine::compare_versions(b, a);
  require((ab > 0) == (ba < 0) && (ab == 0) == (ba == 0));
  require(postern::engine::compare_versions(a, a) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_posture(bytes);
  check_versions(bytes);
  return 0;
}
