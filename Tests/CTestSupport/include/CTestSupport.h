#ifndef ENROLLD_CTESTSUPPORT_H
#define ENROLLD_CTESTSUPPORT_H
#include <sys/types.h>
/* Test support only (never linked into a product): connects to the Unix socket at `path` as another user, so
   that SO_PEERCRED on the server's side reports `uid` and `gid`. Only the calling thread changes identity, and
   only for the connect: raw setresuid/setresgid system calls are per thread on Linux (glibc's wrappers would
   change every thread of the process, the in-process daemon's included). The caller must run as root; the
   thread is root again when this returns. Returns the connected descriptor, or -1 with errno set. */
int enrolld_test_connect_as(const char *path, uid_t uid, gid_t gid);
#endif
