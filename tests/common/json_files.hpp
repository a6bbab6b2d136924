#pragma once
// Answers name the policy file in "file" fields; tests comparing answers from places that name it
// differently (the CLI: the path given; the server: the file name) rewrite those fields first.

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace postern::test {

// `value` with every string "file" field, at any depth, replaced by rename(its value).
inline nlohmann::json rename_files(nlohmann::json value,
                                   const std::function<std::string(const std::string&)>& rename) {
  if (value.is_object()) {
    for (auto& [key, item] : value.items()) {
      item = key == "file" && item.is_string() ? nlohmann::json(rename(item.get<std::string>()))
                                               : rename_files(item, rename);
    }
  } else if (value.is_array()) {
    for (auto& item : value) item = rename_files(item, rename);
  }
  return value;
}

}  // namespace postern::test
