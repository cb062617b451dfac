// Test support for the clients' tests: a peer (an SMSC or an SMTP server written with Debian's
// own libraries) run as a child process on a loopback port. The peer writes its port to a
// "ready" file once it accepts connections, and logs what it received as JSON lines.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace station::messaging::testing {

// Polls a condition a peer or a client thread will make true; bounded so a broken build fails
// instead of hanging. Not a timing assertion: only the outcome is checked.
inline bool eventually(const std::function<bool()>& condition) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

class PeerProcess {
 public:
  // Runs `args` (args[0] looked up on the PATH) and waits for `ready` to name its port.
  PeerProcess(std::vector<std::string> args, const std::filesystem::path& ready) {
    std::filesystem::remove(ready);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawnp(&pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    EXPECT_TRUE(eventually([&] { return std::filesystem::exists(ready); }))
        << args[1] << " did not start";
    std::ifstream(ready) >> port_;
  }
  ~PeerProcess() { kill_now(); }
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// Every JSON line of a peer's log (none when it has not written one yet).
inline std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace station::messaging::testing
