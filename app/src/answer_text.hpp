#pragma once
// The JSON text of query answers written straight into a buffer with fmt, for the server's hot
// routes (POST /v1/check, POST /v1/check/batch). Same shapes and key order as decision_json.hpp's
// nlohmann values (tests/app/answer_text_test.cpp holds the two to the same bytes); the rare
// explained deny is delegated to them.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "postern/control/query.hpp"
#include "postern/control/tailnet.hpp"
#include "postern/engine/engine.hpp"
#include "postern/grammar/diag.hpp"

namespace postern::app {

// Appends `text` as a JSON string literal (escaped as nlohmann::json::dump would).
void append_json_string(std::string& out, std::string_view text);

// The policy file as answers name it (policy_file_label) with the opening of their "rule"
// objects, `{"file":"<label>","line":`, written once instead of once per answer. Refers to
// `file`, which must outlive it. Given the snapshot's policy_identity(), each rule's whole
// "rule" object is also made once per policy load and thread, not once per answer.
class AnswerFile {
 public:
  explicit AnswerFile(const grammar::SourceFile& file, std::shared_ptr<const void> policy = {});
  [[nodiscard]] const grammar::SourceFile& source() const { return *file_; }
  [[nodiscard]] std::string_view label() const { return label_; }
  [[nodiscard]] std::string_view rule_opening() const { return rule_opening_; }
  [[nodiscard]] const std::weak_ptr<const void>& policy() const { return policy_; }
  [[nodiscard]] bool keeps_rules() const { return keeps_rules_; }

 private:
  const grammar::SourceFile* file_;
  std::string_view label_;  // in file's path
  std::string rule_opening_;
  std::weak_ptr<const void> policy_;
  bool keeps_rules_ = false;  // without a policy, rule objects are written per answer
};

// {"allow", "decision", "results": [decision_json...]} for one /v1/check query, the file named
// by its label in "rule" objects.
void append_check_answer(std::string& out, const AnswerFile& file,
                         const control::CheckAnswer& checked, bool explain);

// batch_answer_json(file, answer).dump(), with the file's label in "rule".
void append_batch_answer(std::string& out, const AnswerFile& file,
                         const control::BatchChecker::Answer& answer);

// {"attributes": {key: value...}, "expiries"?: {key: RFC 3339...}}: a device's attributes as
// GET and POST /v1/devices/{id}/attributes answer them (attribute writes' hot path), keys in
// order, whole numbers as integers (control::attribute_value_json's rendering).
void append_attributes_answer(std::string& out, const control::DeviceAttributesView& view);

// The name answers give the policy file: its last path component, so that answers do not tell
// clients where the server keeps its files.
[[nodiscard]] std::string_view policy_file_label(const grammar::SourceFile& file);

}  // namespace postern::app
