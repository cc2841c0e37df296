// createContainer and startContainer hooks: they run inside the container's namespaces, so the
// init runs them (the runtime runs prestart, createRuntime, poststart and poststop itself).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "channel.h"
#include "steps.h"

namespace hooks {

namespace {

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

// Waits for `pid`, killing it once `timeoutSeconds` (0: none) have passed. Returns the status.
int waitWithTimeout(pid_t pid, long timeoutSeconds) {
  const long stepMs = 10;
  for (long waitedMs = 0;; waitedMs += stepMs) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (timeoutSeconds > 0 && waitedMs >= timeoutSeconds * 1000) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -2;
    }
    struct timespec step = {0, stepMs * 1000000};
    nanosleep(&step, nullptr);
  }
}

// "bad system call (SIGSYS)": Go's lower-case description, as runc prints it, and the name.
std::string signalName(int sig) {
  std::string text = strsignal(sig);
  if (!text.empty()) text[0] = static_cast<char>(tolower(static_cast<unsigned char>(text[0])));
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? text + " (SIG" + abbrev + ")" : text;
}

void runOne(const char* kind, size_t index, const json::Value& hook, const std::string& state,
            const json::Value& processEnv) {
  std::string path = hook["path"].str();
  // Without an env of its own a hook gets the process's, as runc's init (whose environment is
  // the process's by then) passes its own on.
  std::vector<std::string> args = hook["args"].strings();
  std::vector<std::string> env = hook["env"].isNull() ? processEnv.strings() : hook["env"].strings();
  if (args.empty()) args.push_back(path);
  // runc 1.1's wording ("error running hook #N"), with the kind of hook added.
  std::string what = "error running hook #" + std::to_string(index) + " (" + kind + ")";
  int input[2];
  if (pipe2(input, O_CLOEXEC) < 0) channel::fail(what + ": pipe", errno);
  pid_t pid = fork();
  if (pid < 0) channel::fail(what + ": fork", errno);
  if (pid == 0) {
    dup2(input[0], STDIN_FILENO);
    std::vector<char*> argv = pointers(args), envp = pointers(env);
    execve(path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(input[0]);
  // The hook may not read its stdin: a write error then is not a failure.
  signal(SIGPIPE, SIG_IGN);
  (void)!write(input[1], state.data(), state.size());
  close(input[1]);
  signal(SIGPIPE, SIG_DFL);
  int status = waitWithTimeout(pid, hook["timeout"].i64());
  if (status == -2) channel::fail(what + ": timed out after " + std::to_string(hook["timeout"].i64()) + "s", 0);
  if (status == -1) channel::fail(what + ": wait", errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) channel::fail(what + ": cannot execute " + path, 0);
  if (WIFSIGNALED(status)) channel::fail(what + ": killed by signal: " + signalName(WTERMSIG(status)), 0);
  if (WEXITSTATUS(status) != 0) channel::fail(what + ": exit status " + std::to_string(WEXITSTATUS(status)), 0);
}

}  // namespace

void run(const char* kind, const json::Value& list, const std::string& state, const json::Value& processEnv) {
  for (size_t i = 0; i < list.size(); i++) runOne(kind, i, list.at(i), state, processEnv);
}

}  // namespace hooks
