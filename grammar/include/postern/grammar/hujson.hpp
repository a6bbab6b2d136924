#pragma once
// HuJSON (JSON + comments + one trailing comma) parser, spec policy-language.md §1.

#include "postern/grammar/diag.hpp"
#include "postern/grammar/json_value.hpp"

namespace postern::grammar::hujson {

// Maximum nesting of arrays/objects; deeper input is a clean H-error, never a stack overflow.
inline constexpr std::size_t kMaxDepth = 512;

// Parse the whole file into a document. A syntax error is fatal: exactly one diagnostic.
Parsed<json::Value> parse(const SourceFile& file);

}  // namespace postern::grammar::hujson
