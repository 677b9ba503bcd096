#ifndef ENROLLD_CSYSTEM_H
#define ENROLLD_CSYSTEM_H
#include <sys/types.h>
/* Reads SO_PEERCRED of a connected Unix socket (struct ucred needs _GNU_SOURCE, which Swift's
   Glibc module does not expose). Returns 0 on success, -1 with errno set. */
int enrolld_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
/* Caps glibc's malloc arenas at `count` (mallopt M_ARENA_MAX) unless MALLOC_ARENA_MAX is set in the
   environment. Returns 0 on success, -1 when mallopt refused. */
int enrolld_limit_malloc_arenas(int count);
#endif
