// The init's side of the runtime channel: frames of a 4-byte little-endian length followed by a
// JSON object, over the socket whose fd number the runtime passes as argv[1].
#pragma once
#include <string>

#include "json.h"

namespace channel {

void attach(int fd);

bool receive(json::Value& message, std::string& error);
// Sends {"type": type, ...extra} where `extraJson` is already-encoded members ("\"pid\":12").
bool send(const char* type, const std::string& extraJson = "");
// Sends one byte carrying `fd` as SCM_RIGHTS; the runtime takes it with the addon's receiveFd
// right after the frame that announced it.
bool sendFd(int fd);
// Reports a failed step to the runtime and exits: step says what was being done, err is errno
// (0 when not a system error).
[[noreturn]] void fail(const std::string& step, int err);
// Waits for the runtime to answer `expected` and returns that message; fails the init otherwise.
json::Value expect(const char* expected);
// Set once the channel is closed (after "created"); fail() then writes to stderr instead.
void close();

std::string quote(const std::string& s);

}  // namespace channel
