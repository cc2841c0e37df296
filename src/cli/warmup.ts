/**
 * The entry's way to the cgroup-attach head start (../cgroups/warmup.ts): the bundle build makes
 * this file dist/bundle/warmup.js, beside the entry, so only the commands that use it load it.
 */
export { warmCgroupAttach } from '../cgroups/warmup';
