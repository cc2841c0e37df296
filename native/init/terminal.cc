// process.terminal: a pty allocated inside the container (its devpts), the master handed to the
// runtime, the slave made the process's controlling terminal and stdio.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "channel.h"
#include "protocol.h"
#include "steps.h"

namespace terminal {

namespace {

int openPeer(int master) {
  // TIOCGPTPEER (4.13+) opens the slave without a path lookup the container could race.
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave >= 0) return slave;
  unsigned int number;
  if (ioctl(master, TIOCGPTN, &number) < 0) channel::fail("get the pty number", errno);
  std::string path = "/dev/pts/" + std::to_string(number);
  slave = open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) channel::fail("open " + path, errno);
  return slave;
}

}  // namespace

void setup(const json::Value& plan) {
  const json::Value& process = plan["process"];
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) channel::fail("open /dev/ptmx in the container", errno);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) channel::fail("unlock the pty", errno);
  int slave = openPeer(master);
  const json::Value& size = process["consoleSize"];
  if (!size.isNull()) {
    struct winsize ws = {};
    ws.ws_row = static_cast<unsigned short>(size["height"].u64());
    ws.ws_col = static_cast<unsigned short>(size["width"].u64());
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0) channel::fail("set the console size", errno);
  }
  // The process owns its terminal, as with runc.
  if (fchown(slave, static_cast<uid_t>(process["user"]["uid"].u64()), static_cast<gid_t>(-1)) < 0)
    channel::fail("chown the pty", errno);
  channel::send(protocol::kConsole);
  if (!channel::sendFd(master)) channel::fail("send the pty master to the runtime", errno);
  close(master);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) channel::fail("dup2 the pty onto stdio", errno);
  close(slave);
  if (ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0) channel::fail("make the pty the controlling terminal", errno);
}

}  // namespace terminal
