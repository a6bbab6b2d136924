#pragma once
// Helpers for posture condition tests: parse a condition as it would sit inside a policy file and
// check the result in one line.

#include <string>
#include <string_view>

#include "postern/grammar/posture.hpp"

namespace postern::test {

struct PostureParse {
  grammar::SourceFile file;
  grammar::Span text_span;  // the condition's bytes inside `file`
  grammar::Parsed<grammar::posture::Condition> result;
};

// Puts `condition` on the second line of a small policy, inside a JSON string, and parses it
// verbatim (as lowering does for a string without escapes).
PostureParse parse_posture(std::string_view condition);

// The condition parses; its canonical text is `canonical` (empty: the input itself) and the
// canonical text parses back to an equivalent condition.
void expect_posture(std::string_view condition, std::string_view canonical = {});

// The condition fails with exactly one error `code` whose span underlines exactly `snippet`
// (an empty snippet: a zero-width span at the end of the condition).
void expect_diag(std::string_view condition, std::string_view code, std::string_view snippet);

}  // namespace postern::test
