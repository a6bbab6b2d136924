#pragma once
// A temporary directory for one test, removed with everything in it on destruction, plus the
// two file helpers every process-level test needs.

#include <filesystem>
#include <string>

namespace postern::test {

class ScratchDir {
 public:
  // `prefix` names the directory under the system temp dir, e.g. "postern-serve".
  explicit ScratchDir(const std::string& prefix = "postern-test");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& text);
// The whole file; empty when it cannot be read.
std::string slurp(const std::filesystem::path& path);

}  // namespace postern::test
