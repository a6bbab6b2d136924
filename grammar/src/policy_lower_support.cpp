// Error collection, case-insensitive key matching and typed accessors used by policy lowering.
#include <algorithm>
#include <utility>

#include "policy_lower_detail.hpp"
#include "postern/grammar/ascii.hpp"

namespace postern::grammar::policy::detail {

void Collector::error(DiagCode code, Span span, std::string message, std::string help) {
  add(make_error(code, span, std::move(message), std::move(help)));
}

void Collector::add(Diagnostic diag) {
  if (diag.severity == Severity::Error) {
    if (errors_ >= kMaxErrors) {
      ++dropped_;
      return;
    }
    ++errors_;
  }
  diags_.push_back(std::move(diag));
}

std::vector<Diagnostic> Collector::finish() {
  if (dropped_ > 0) {
    Diagnostic note;
    note.severity = Severity::Note;
    note.code = DiagCode::S213;
    note.message = "too many errors: " + std::to_string(dropped_) + " more not shown";
    note.help = "fix the errors above and run again";
    diags_.push_back(std::move(note));
    dropped_ = 0;
  }
  return std::move(diags_);
}

StrRef StrRef::of(const json::Value& value) {
  return StrRef{value.text, value.span, value.string_is_verbatim, 0};
}

Span StrRef::sub(std::size_t offset, std::size_t length) const {
  if (!verbatim) return value_span;
  const auto begin = static_cast<std::uint32_t>(value_span.begin + 1 + base + offset);
  const auto end = static_cast<std::uint32_t>(begin + std::max<std::size_t>(length, 1));
  // An empty part still gets a one-byte underline, kept inside the literal.
  return Span{begin, std::min(end, value_span.end)};
}

StrRef StrRef::slice(std::size_t offset, std::size_t length) const {
  offset = std::min(offset, text.size());
  return StrRef{text.substr(offset, length), value_span, verbatim, base + offset};
}

std::string describe(json::Kind kind) {
  switch (kind) {
    case json::Kind::Null:
      return "null";
    case json::Kind::Bool:
      return "a boolean";
    case json::Kind::Number:
      return "a number";
    case json::Kind::String:
      return "a string";
    case json::Kind::Array:
      return "a list";
    case json::Kind::Object:
      return "an object";
  }
  return "a value";
}

std::string index_path(std::string_view where, std::size_t index) {
  return std::string(where) + "[" + std::to_string(index) + "]";
}

std::string key_path(std::string_view where, std::string_view key) {
  return std::string(where) + "[\"" + std::string(key) + "\"]";
}

namespace {

std::string field_list(std::span<const FieldSpec> specs) {
  std::string out;
  for (const auto& spec : specs) {
    if (!out.empty()) out += ", ";
    out += "`" + std::string(spec.name) + "`";
  }
  return out;
}

}  // namespace

std::vector<const json::Member*> match_fields(Collector& out, const json::Value& object,
                                              std::span<const FieldSpec> specs,
                                              std::string_view where) {
  std::vector<const json::Member*> found(specs.size(), nullptr);
  for (const auto& member : object.members) {
    std::size_t index = specs.size();
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (ascii_iequals(member.key, specs[i].name) ||
          (!specs[i].alias.empty() && ascii_iequals(member.key, specs[i].alias))) {
        index = i;
        break;
      }
    }
    if (index == specs.size()) {
      out.error(
          DiagCode::S202, member.key_span, "unknown field `" + member.key + "`",
          std::string(where.empty() ? "the policy" : where) + " accepts " + field_list(specs));
      continue;
    }
    if (found[index] != nullptr) {
      auto diag = make_error(DiagCode::S203, member.key_span,
                             "duplicate key `" + member.key + "`" +
                                 (where.empty() ? std::string{} : " in " + std::string(where)),
                             "keys match case-insensitively; `" + found[index]->key +
                                 "` already sets `" + std::string(specs[index].name) + "`");
      diag.related.push_back(Label{found[index]->key_span, "first defined here"});
      out.add(std::move(diag));
      continue;
    }
    found[index] = &member;
  }
  return found;
}

bool note_key(Collector& out, std::vector<const json::Member*>& seen, const json::Member& member,
              std::string_view where) {
  const auto it = std::find_if(seen.begin(), seen.end(),
                               [&](const json::Member* m) { return m->key == member.key; });
  if (it != seen.end()) {
    auto diag = make_error(DiagCode::S203, member.key_span,
                           "duplicate key `" + member.key + "` in " + std::string(where),
                           "each key may appear only once; merge the two entries");
    diag.related.push_back(Label{(*it)->key_span, "first defined here"});
    out.add(std::move(diag));
    return false;
  }
  seen.push_back(&member);
  return true;
}

bool expect_kind(Collector& out, const json::Value& value, json::Kind kind,
                 std::string_view where) {
  if (value.kind == kind) return true;
  out.error(
      DiagCode::S204, value.span,
      "`" + std::string(where) + "` must be " + describe(kind) + ", found " + describe(value.kind));
  return false;
}

std::optional<Text> lower_string(Collector& out, const json::Value& value, std::string_view where) {
  if (!expect_kind(out, value, json::Kind::String, where)) return std::nullopt;
  return Text{value.text, value.span};
}

std::optional<std::vector<Text>> lower_string_list(Collector& out, const json::Value& value,
                                                   std::string_view where) {
  if (!expect_kind(out, value, json::Kind::Array, where)) return std::nullopt;
  std::vector<Text> items;
  bool ok = true;
  for (std::size_t i = 0; i < value.items.size(); ++i) {
    auto text = lower_string(out, value.items[i], index_path(where, i));
    if (text) {
      items.push_back(std::move(*text));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return items;
}

}  // namespace postern::grammar::policy::detail
