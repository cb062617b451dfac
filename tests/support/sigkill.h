// Crash tests: work done in a child process that is then killed with SIGKILL, so that a test can
// check what of it survives (header only: needs GoogleTest, nothing to link).
#pragma once

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace station::testing {

// Forks; the child runs `work`, which calls `die()` at the moment it is to be killed, while
// what it opened is still alive (a ledger, a connection: nothing of theirs runs again). die()
// tells the parent and kills the child with SIGKILL; a return from `work` is a failure before
// that moment, its value the child's exit code. Succeeds when the child died by SIGKILL in die().
// The child must open its own resources: the parent's threads do not exist in it.
using Die = std::function<void()>;
inline ::testing::AssertionResult run_until_sigkill(const std::function<int(const Die&)>& work) {
  int succeeded[2];
  if (pipe(succeeded) != 0) return ::testing::AssertionFailure() << "pipe failed";
  const pid_t child = fork();
  if (child < 0) return ::testing::AssertionFailure() << "fork failed";
  if (child == 0) {
    close(succeeded[0]);
    const int code = work([&] {
      const char done = 'y';
      if (write(succeeded[1], &done, 1) != 1) _exit(126);
      raise(SIGKILL);
    });
    _exit(code);  // returned instead of dying: a failure
  }
  close(succeeded[1]);
  char done = 'n';
  const bool told = read(succeeded[0], &done, 1) == 1 && done == 'y';
  close(succeeded[0]);
  int status = 0;
  if (waitpid(child, &status, 0) != child) return ::testing::AssertionFailure() << "waitpid";
  if (!told || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    return ::testing::AssertionFailure()
           << "the child did not die by SIGKILL in die(): "
           << (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                 : "wait status " + std::to_string(status));
  }
  return ::testing::AssertionSuccess();
}

}  // namespace station::testing
