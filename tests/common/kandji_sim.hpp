#pragma once
// postern-kandji-sim on 127.0.0.1:0 for tests, its admin API driven with cpp-httplib. Header-only:
// only test targets that link cpp-httplib include it.

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "process.hpp"

namespace postern::test {

class Simulator {
 public:
  // Serves `token` (written to a file in `dir`) with `extra` arguments; throws when the simulator
  // does not report its port within a minute.
  Simulator(const std::filesystem::path& dir, std::vector<std::string> extra,
            const std::string& token)
      : process_(arguments(dir, std::move(extra), token)) {
    const auto port = process_.wait_listening(60s);
    if (!port) throw std::runtime_error("simulator did not start: " + process_.err());
    port_ = *port;
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Process& process() { return process_; }

  // Admin calls; return the response body, throw on a non-2xx status.
  std::string post(const std::string& path, const std::string& body) {
    return check(client().Post(path.c_str(), body, "application/json"), path);
  }
  std::string get(const std::string& path) { return check(client().Get(path.c_str()), path); }
  std::string del(const std::string& path) { return check(client().Delete(path.c_str()), path); }

 private:
  static std::vector<std::string> arguments(const std::filesystem::path& dir,
                                            std::vector<std::string> extra,
                                            const std::string& token) {
    const auto token_file = dir / "sim-token.txt";
    std::ofstream(token_file) << token;
    std::vector<std::string> args = {kandji_sim_binary(), "--listen", "127.0.0.1:0", "--token-file",
                                     token_file.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  [[nodiscard]] httplib::Client client() const { return httplib::Client("127.0.0.1", port_); }
  static std::string check(const httplib::Result& r, const std::string& path) {
    if (!r || r->status / 100 != 2) {
      throw std::runtime_error("simulator admin call " + path + " failed" +
                               (r ? ": " + std::to_string(r->status) + " " + r->body : ""));
    }
    return r->body;
  }

  Process process_;
  int port_ = 0;
};

}  // namespace postern::test
