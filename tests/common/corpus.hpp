#pragma once
// Data-driven corpora: tests/corpus/<area>/<case files>, found through POSTERN_TEST_DATA_DIR
// (environment first, compiled-in default second), never through the working directory.

#include <filesystem>
#include <string>
#include <vector>

namespace postern::test {

std::filesystem::path corpus_root();
// Regular files under corpus_root()/relative (recursive), sorted by path. Fails the test when the
// folder is missing or empty, so a moved corpus can't silently pass.
std::vector<std::filesystem::path> corpus_files(const std::string& relative);
std::string read_file(const std::filesystem::path& path);
// Lines of the leading comment block that start with `// <key>:` (e.g. "expect"), values trimmed.
std::vector<std::string> header_values(const std::string& text, const std::string& key);

}  // namespace postern::test
