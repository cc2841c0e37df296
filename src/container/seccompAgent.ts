/**
 * The runtime's half of SCMP_ACT_NOTIFY: the init hands runts the seccomp listener fd, and runts
 * passes it on to linux.seccomp.listenerPath (the filter itself is planned by src/plan/seccomp.ts).
 */
import fs = require('fs');
import { RuntimeError } from '../base/errors';
import { native } from '../native';
import type { Spec, State } from '../config/types';

/** runtime-spec's containerProcessState: what listenerPath receives with the seccomp fd. */
export interface ContainerProcessState {
  ociVersion: string;
  fds: string[];
  pid: number;
  metadata?: string;
  state: State;
}

/**
 * Passes the init's seccomp listener fd on to linux.seccomp.listenerPath with the container
 * process state, as config-linux.md describes: one AF_UNIX SOCK_STREAM connection per state, the
 * fd sent with SCM_RIGHTS and named "seccompFd". Closes `fd` (the agent has its own copy).
 */
export function forwardSeccompListener(fd: number, spec: Spec, state: State): void {
  try {
    const seccomp = spec.linux?.seccomp;
    if (!seccomp?.listenerPath) throw new RuntimeError('seccomp: the container has a notify listener but no linux.seccomp.listenerPath');
    const message: ContainerProcessState = {
      ociVersion: state.ociVersion,
      fds: ['seccompFd'],
      pid: state.pid ?? 0,
      ...(seccomp.listenerMetadata ? { metadata: seccomp.listenerMetadata } : {}),
      // runc's Go structs omit empty annotations.
      state: state.annotations && Object.keys(state.annotations).length === 0 ? { ...state, annotations: undefined } : state,
    };
    try {
      native().sendFdsToUnixSocket(seccomp.listenerPath, JSON.stringify(message), [fd]);
    } catch (err) {
      const why = (err as Error).message;
      // runc's two wordings: the agent is not there, or it went away mid-send.
      if (why.startsWith('connect ')) throw new RuntimeError(`failed to connect with seccomp agent specified in the seccomp profile: ${why}`);
      throw new RuntimeError(`cannot send seccomp fd to ${seccomp.listenerPath}: ${why}`);
    }
  } finally {
    fs.closeSync(fd);
  }
}
