#include "answer_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "decision_json.hpp"
#include "postern/control/attribute_json.hpp"
#include "postern/grammar/json_value.hpp"
#include "postern/sync/clock.hpp"

namespace postern::app {

using namespace std::string_view_literals;  // literals appended without a strlen

namespace {

// Every answer writes a few strings through here; anything else is escaped by nlohmann, which
// also replaces invalid UTF-8.
bool plain_ascii(std::string_view text) {
  return grammar::json::plain_json_prefix(text, true) == text.size();
}

// A whole number's digits, without a format string to parse per call.
void append_number(std::string& out, std::int64_t value) {
  const fmt::format_int digits(value);
  out.append(digits.data(), digits.size());
}

void format_rule(std::string& out, const AnswerFile& file, const engine::RuleRef& rule) {
  out += file.rule_opening();
  append_number(out, rule.line);
  out += R"(,"rule":")"sv;
  engine::append_rule_name(out, rule);
  out += R"("})"sv;
}

bool same_owner(const std::weak_ptr<const void>& a, const std::weak_ptr<const void>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

// Each rule's "rule" object, made once per policy load on this thread: a batch writes one per
// accepted query. A weak_ptr to the policy tells loads apart even when a new one is allocated
// where an old one was; the texts are bounded by the policy's rules.
class RuleTexts {
 public:
  std::string_view text(const AnswerFile& file, const engine::RuleRef& rule) {
    if (!same_owner(policy_, file.policy())) {
      policy_ = file.policy();
      acls_.clear();
      grants_.clear();
    }
    auto& texts = rule.kind == engine::RuleKind::Acl ? acls_ : grants_;
    if (rule.index >= texts.size()) texts.resize(rule.index + 1);
    auto& text = texts[rule.index];
    if (text.empty()) format_rule(text, file, rule);
    return text;
  }

 private:
  std::weak_ptr<const void> policy_;
  std::vector<std::string> acls_;
  std::vector<std::string> grants_;
};

void append_rule(std::string& out, const AnswerFile& file, const engine::RuleRef& rule) {
  if (!file.keeps_rules()) return format_rule(out, file, rule);
  thread_local RuleTexts texts;
  out += texts.text(file, rule);
}

void append_near_misses(std::string& out, const AnswerFile& file,
                        const engine::Decision& decision) {
  nlohmann::json misses = nlohmann::json::array();
  for (const auto& near_miss : decision.near_misses) {
    auto value = near_miss_json(file.source(), near_miss);
    value["file"] = file.label();
    misses.push_back(std::move(value));
  }
  out += misses.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_decision(std::string& out, const AnswerFile& file, const engine::Decision& decision,
                     std::string_view src_label, std::string_view dst_label, std::uint8_t proto,
                     std::uint16_t port, bool explain) {
  out += decision.allow ? R"({"decision":"accept","dst":)"sv : R"({"decision":"deny","dst":)"sv;
  append_json_string(out, dst_label);
  out += R"(,"port":)"sv;
  append_number(out, port);
  if (!decision.allow && explain) {
    out += R"(,"postureFailures":)"sv;
    append_near_misses(out, file, decision);
  }
  out += R"(,"proto":)"sv;
  append_number(out, proto);
  if (decision.reason == engine::Reason::AllowAll) {
    out += R"(,"reason":"policy has no acls and no grants")"sv;
  }
  if (decision.rule) {
    out += R"(,"rule":)"sv;
    append_rule(out, file, *decision.rule);
  }
  out += R"(,"src":)"sv;
  append_json_string(out, src_label);
  out += '}';
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  if (plain_ascii(text)) {
    out += '"';
    out += text;
    out += '"';
    return;
  }
  out += nlohmann::json(std::string(text))
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

AnswerFile::AnswerFile(const grammar::SourceFile& file, std::shared_ptr<const void> policy)
    : file_(&file),
      label_(policy_file_label(file)),
      rule_opening_(R"({"file":)"sv),
      policy_(policy),
      keeps_rules_(policy != nullptr) {
  append_json_string(rule_opening_, label_);
  rule_opening_ += R"(,"line":)"sv;
}

void append_check_answer(std::string& out, const AnswerFile& file,
                         const control::CheckAnswer& checked, bool explain) {
  const auto& [query, answer] = checked;
  // About what a decision without near misses takes: the text grows once, not five times.
  out.reserve(out.size() + 64 + 192 * answer.decisions.size());
  out += answer.accept ? R"({"allow":true,"decision":"accept","results":[)"sv
                       : R"({"allow":false,"decision":"deny","results":[)"sv;
  for (std::size_t i = 0; i < answer.decisions.size(); ++i) {
    if (i > 0) out += ',';
    append_decision(out, file, answer.decisions[i], query.src.labels[i], query.dst.labels[0],
                    query.proto, query.port, explain);
  }
  out += "]}"sv;
}

void append_batch_answer(std::string& out, const AnswerFile& file,
                         const control::BatchChecker::Answer& answer) {
  if (answer.error) {
    out += R"({"error":{"code":")"sv;
    out += grammar::code_name(answer.error->code);
    out += R"(","message":)"sv;
    append_json_string(out, answer.error->message);
    out += "}}"sv;
    return;
  }
  out += answer.accept ? R"({"allow":true,"decision":"accept")"sv
                       : R"({"allow":false,"decision":"deny")"sv;
  if (!answer.accept && answer.explain) {
    out += R"(,"postureFailures":)"sv;
    append_near_misses(out, file, *answer.decision);
  }
  if (answer.accept && answer.decision->rule) {
    out += R"(,"rule":)"sv;
    append_rule(out, file, *answer.decision->rule);
  }
  out += '}';
}

std::string_view policy_file_label(const grammar::SourceFile& file) {
  const std::string_view path = file.path();
  const auto slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

void append_attributes_answer(std::string& out, const control::DeviceAttributesView& view) {
  using grammar::json::append_member_key;
  // Room for the usual answer at once (a key of ~16 bytes and a short value each) rather than
  // a few doublings of the string.
  out.reserve(out.size() + 32 + 48 * view.attributes.size());
  out += R"({"attributes":{)";
  for (const auto& a : view.attributes) {
    append_member_key(out, a.key);
    control::append_attribute_value_json(out, a.value);
  }
  out += '}';
  const auto expires = [](const auto& a) { return a.expires_at.has_value(); };
  if (std::any_of(view.attributes.begin(), view.attributes.end(), expires)) {  // else omitted
    out += R"(,"expiries":{)";
    for (const auto& a : view.attributes) {
      if (!a.expires_at) continue;
      append_member_key(out, a.key);
      append_json_string(out, sync::format_rfc3339(*a.expires_at));
    }
    out += '}';
  }
  out += '}';
}

}  // namespace postern::app
