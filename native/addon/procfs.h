#pragma once
#include <sys/types.h>

#include <cstdint>

// Start time of `pid` (field 22 of /proc/<pid>/stat, clock ticks since boot), or 0 if gone.
uint64_t processStartTime(pid_t pid);
