/*
 * Preloaded into every process of a gVisor sandbox (gvisor-statx.ts).
 *
 * The gVisor release Debian ships (runsc 20221219) answers EINVAL to statx()
 * with AT_NO_AUTOMOUNT, a flag GNU coreutils always passes: `ls -l`, `stat`,
 * `cp -a`, `find` all fail there. gVisor has no automounts, so the flag means
 * nothing to it: this statx() asks again without it. Built without the C
 * library (-nostdlib): `syscall` and errno are the process's own C library's,
 * so one file fits any glibc image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int statx(int dirfd, const char *restrict path, int flags, unsigned int mask, struct statx *restrict buffer) {
  long answer = syscall(SYS_statx, dirfd, path, flags, mask, buffer);
  if (answer == -1 && errno == EINVAL && (flags & AT_NO_AUTOMOUNT)) {
    answer = syscall(SYS_statx, dirfd, path, flags & ~AT_NO_AUTOMOUNT, mask, buffer);
  }
  return (int)answer;
}
