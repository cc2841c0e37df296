// The init's side of the runtime channel: frames of a 4-byte little-endian length followed by a
// JSON object, over the socket whose fd number the runtime passes as argv[1].
#pragma once
#include <cstddef>
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
// One sendmsg of `len` bytes on `sock` with `fd` attached (none when -1).
bool sendWithFd(int sock, const void* data, size_t len, int fd);
// One recvmsg of exactly `len` bytes; *fd: the attached fd (close-on-exec) or -1. False on a
// short read or EOF.
bool receiveWithFd(int sock, void* data, size_t len, int* fd);
// Reports a failed step to the runtime and exits: step says what was being done, err is errno
// (0 when not a system error).
[[noreturn]] void fail(const std::string& step, int err);
// Waits for the runtime to answer `expected` and returns that message; fails the init otherwise.
json::Value expect(const char* expected);
// Set once the channel is closed (after "created"); fail() then writes to stderr instead.
void close();
// Blocks until the runtime's end of the channel is closed (the runtime process has exited or
// let go of it), then closes ours.
void closeWhenRuntimeLetsGo();

std::string quote(const std::string& s);

}  // namespace channel
