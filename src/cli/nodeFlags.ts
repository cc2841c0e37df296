/**
 * The options the binary's shebang gives node (dist/bundle/runts.js's first line, written by
 * src/build/bundle.ts). Each one lowers what every call pays before runts' first line runs.
 *
 * --no-rehash-snapshot: V8 keeps the string hash seed baked into node's startup snapshot instead
 * of drawing a random one and rehashing every table of the snapshot with it, ~3 ms of each start
 * on this design's hosts (`node -e 0` 26.4 ms against 23.6). A random seed guards a long-lived
 * process against hash flooding: many keys an attacker picks to collide in one table. A runts
 * call lives for milliseconds and hashes no key the container controls: config.json and
 * process.json come from the caller, state from runts itself, mountinfo and /etc/passwd from the
 * host; the container's own files and cgroup entries are read as lists, never as keys.
 */
export const SHEBANG_NODE_FLAGS = ['--no-rehash-snapshot'];
