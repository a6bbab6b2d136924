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

// A file `<temp dir>/<prefix>_<pid>_<name>` holding `text`, removed on destruction. The pid keeps
// files apart when ctest runs one binary's cases in parallel.
class TempFile {
 public:
  TempFile(const std::string& prefix, const std::string& name, const std::string& text);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::filesystem::path path;
};

void write_file(const std::filesystem::path& path, const std::string& text);
// The whole file; empty when it cannot be read.
std::string slurp(const std::filesystem::path& path);

}  // namespace postern::test
