#include "corpus.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace postern::test {

std::filesystem::path corpus_root() {
  if (const char* env = std::getenv("POSTERN_TEST_DATA_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return POSTERN_TEST_DATA_DIR;
}

std::vector<std::filesystem::path> corpus_files(const std::string& relative) {
  const auto dir = corpus_root() / relative;
  REQUIRE(std::filesystem::is_directory(dir));
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE_FALSE(files.empty());
  return files;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> header_values(const std::string& text, const std::string& key) {
  std::vector<std::string> values;
  std::istringstream lines(text);
  std::string line;
  const std::string prefix = "// " + key + ":";
  while (std::getline(lines, line)) {
    if (line.rfind("//", 0) != 0) break;  // the header ends at the first non-comment line
    if (line.rfind(prefix, 0) == 0) {
      auto value = line.substr(prefix.size());
      const auto first = value.find_first_not_of(" \t");
      const auto last = value.find_last_not_of(" \t\r");
      values.push_back(first == std::string::npos ? "" : value.substr(first, last - first + 1));
    }
  }
  return values;
}

}  // namespace postern::test
