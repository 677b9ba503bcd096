#ifndef ENROLLD_CSYSTEM_H
#define ENROLLD_CSYSTEM_H
#include <sys/types.h>
/* Reads SO_PEERCRED of a connected Unix socket (struct ucred needs _GNU_SOURCE, which Swift's
   Glibc module does not expose). Returns 0 on success, -1 with errno set. */
int enrolld_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
/* Reads SO_PEERGROUPS (Linux 4.13+): the supplementary groups the peer had when it connected.
   On entry *count is the capacity of groups; on success it is the number stored and 0 is returned.
   Returns -1 with errno ERANGE and *count set to the number needed when groups is too small. */
int enrolld_peer_groups(int fd, gid_t *groups, int *count);
/* Caps glibc's malloc arenas at `count` (mallopt M_ARENA_MAX) unless MALLOC_ARENA_MAX is set in the
   environment. Returns 0 on success, -1 when mallopt refused. */
int enrolld_limit_malloc_arenas(int count);
#endif
