#include "channel.h"
#include "protocol.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace channel {

namespace {

bool closed = false;
int channelFd = -1;

bool writeAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool readAll(int fd, char* data, size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void attach(int fd) { channelFd = fd; }

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool receive(json::Value& message, std::string& error) {
  uint8_t header[4];
  if (!readAll(channelFd, reinterpret_cast<char*>(header), 4)) {
    error = "runtime channel closed";
    return false;
  }
  uint32_t len = header[0] | (header[1] << 8) | (header[2] << 16) | (static_cast<uint32_t>(header[3]) << 24);
  std::string body(len, '\0');
  if (!readAll(channelFd, &body[0], len)) {
    error = "runtime channel closed";
    return false;
  }
  return json::parse(body, message, error);
}

bool send(const char* type, const std::string& extraJson) {
  std::string body = "{\"type\":" + quote(type);
  if (!extraJson.empty()) body += "," + extraJson;
  body += "}";
  uint32_t len = static_cast<uint32_t>(body.size());
  uint8_t header[4] = {static_cast<uint8_t>(len), static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len >> 16),
                       static_cast<uint8_t>(len >> 24)};
  return writeAll(channelFd, reinterpret_cast<char*>(header), 4) && writeAll(channelFd, body.data(), body.size());
}

bool sendWithFd(int sock, const void* data, size_t len, int fd) {
  struct iovec iov = {const_cast<void*>(data), len};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  }
  for (;;) {
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(len)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

bool receiveWithFd(int sock, void* data, size_t len, int* fd) {
  struct iovec iov = {data, len};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  *fd = -1;
  if (n != static_cast<ssize_t>(len)) return false;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof(int));
  return true;
}

bool sendFd(int fd) {
  char byte = 0;
  return sendWithFd(channelFd, &byte, 1, fd);
}

void fail(const std::string& step, int err) {
  if (closed) {
    std::string line = "runts-init: " + step + (err ? std::string(": ") + strerror(err) : "") + "\n";
    writeAll(STDERR_FILENO, line.data(), line.size());
  } else {
    send(protocol::kError, "\"step\":" + quote(step) + ",\"errno\":" + std::to_string(err) +
                      ",\"message\":" + quote(err ? strerror(err) : ""));
  }
  _exit(1);
}

json::Value expect(const char* expected) {
  json::Value reply;
  std::string error;
  if (!receive(reply, error)) fail(std::string("waiting for ") + expected + ": " + error, 0);
  if (reply["type"].str() != expected) fail(std::string("runtime answered ") + reply["type"].str() + ", not " + expected, 0);
  return reply;
}

void close() {
  ::close(channelFd);
  closed = true;
}

void closeWhenRuntimeLetsGo() {
  char buf[64];
  for (;;) {
    ssize_t n = read(channelFd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  close();
}

}  // namespace channel
