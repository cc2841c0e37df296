// The runtime channel's messages, both ways, in the order they come (as runc's
// libcontainer/sync.go lists its sync pairs). The TypeScript side is src/init/protocol.ts; a
// change here is a change there. Frames: a 4-byte little-endian length, then a JSON object.
//
//   runtime → init   the plan                (the only frame without a "type"; main.cc)
//   runtime → init   "proceed"               plan.namespacesAhead: the state dir, exec fifo and
//                                            cgroup now exist; the init opens them and goes on
//   init → runtime   "usermap" {pid}         a new user namespace needs its id maps (namespaces.cc)
//   runtime → init   "usermap-done"          the maps are written
//   init → runtime   "pid" {pid}             stage 2's host pid; stage 1 then exits (main.cc)
//   init → runtime   "hook" {name}           create only: the rootfs is ready, before createRuntime
//   runtime → init   "continue" {state}      prestart/createRuntime hooks ran; state for our hooks
//   init → runtime   "console" + fd          process.terminal: the pty master (terminal.cc)
//   init → runtime   "seccomp-listener" + fd an SCMP_ACT_NOTIFY filter's listener (seccomp.cc)
//   runtime → init   "seccomp-listener-sent" handed to linux.seccomp.listenerPath
//   init → runtime   "created"               set up; the channel closes, the init waits for start
//   init → runtime   "error" {step,errno,message}   instead of any of the above, then exit
//
// "+ fd": one byte carrying the fd as SCM_RIGHTS follows the frame (channel::sendFd).
#pragma once

namespace protocol {
// init → runtime
constexpr const char* kUsermap = "usermap";
constexpr const char* kPid = "pid";
constexpr const char* kHook = "hook";
constexpr const char* kConsole = "console";
constexpr const char* kSeccompListener = "seccomp-listener";
constexpr const char* kCreated = "created";
constexpr const char* kError = "error";
// runtime → init
constexpr const char* kProceed = "proceed";
constexpr const char* kUsermapDone = "usermap-done";
constexpr const char* kContinue = "continue";
constexpr const char* kSeccompListenerSent = "seccomp-listener-sent";
}  // namespace protocol
