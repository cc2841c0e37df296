/**
 * The messages between runts and runts-init, both ways, in the order they come. The C++ side
 * lists the same pairs in native/init/protocol.h; a change here is a change there.
 *
 * Every frame is a 4-byte little-endian length and a JSON object, over one end of a socketpair.
 *
 *   runts → init   the plan (InitPlan; the only frame without a `type`)
 *   runts → init   proceed                 [plan.namespacesAhead: state dir, fifo, cgroup made]
 *   init → runts   usermap {pid}           [a new user namespace]   → usermap-done
 *   init → runts   pid {pid}               stage 2's host pid; stage 1 exits
 *   init → runts   hook {name}             [create: before createRuntime hooks] → continue {state}
 *   init → runts   console + fd            [process.terminal]
 *   init → runts   seccomp-listener + fd   [an SCMP_ACT_NOTIFY filter]   → seccomp-listener-sent
 *   init → runts   created                 the channel closes; the init waits for `start`
 *   init → runts   error {step,errno,message}   instead of any of the above; the init exits
 */
import type { InitPlan } from '../plan/plan';

/** What the init sends. */
export type InitMessage =
  | { type: 'usermap'; pid: number }
  | { type: 'pid'; pid: number }
  | { type: 'hook'; name: string }
  /** Followed by one byte carrying the pty master of a terminal process: take it with receiveFd(). */
  | { type: 'console' }
  /** Followed by one byte carrying the seccomp notify listener fd: take it with receiveFd(). */
  | { type: 'seccomp-listener' }
  | { type: 'created' }
  | { type: 'error'; step: string; errno: number; message: string };

/** What runts answers, each to one InitMessage (the plan goes first, unasked). */
export type RuntimeMessage =
  /** plan.namespacesAhead: the state dir, the exec fifo and the cgroup directories now exist. */
  | { type: 'proceed' }
  | { type: 'usermap-done' }
  /** `state`: the OCI state JSON the createContainer and startContainer hooks get on stdin. */
  | { type: 'continue'; state?: string }
  | { type: 'seccomp-listener-sent' };

/** The first frame. */
export type PlanMessage = InitPlan;
