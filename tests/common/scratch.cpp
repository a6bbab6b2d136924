#include "scratch.hpp"

#include <stdlib.h>  // mkdtemp
#include <unistd.h>  // getpid

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace postern::test {

namespace fs = std::filesystem;

ScratchDir::ScratchDir(const std::string& prefix) {
  // mkdtemp's template: it replaces the trailing six X's with a unique suffix.
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a scratch directory from " + pattern);
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

TempFile::TempFile(const std::string& prefix, const std::string& name, const std::string& text)
    : path(fs::temp_directory_path() / (prefix + "_" + std::to_string(getpid()) + "_" + name)) {
  write_file(path, text);
}

TempFile::~TempFile() {
  std::error_code ignored;
  fs::remove(path, ignored);
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace postern::test
