#ifndef ENROLLD_CSYSTEM_H
#define ENROLLD_CSYSTEM_H
#include <stddef.h>
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
/* Sends one message to syslog(3) with `priority` (facility | level), as "%s": a message is never a format.
   The identity is "enrolld"; the connection to /dev/log opens on first use. */
void enrolld_syslog(int priority, const char *message);
/* prctl(PR_SET_DUMPABLE, 0): no core dump of this process, and no ptrace attach by processes of the same user
   (secrets in memory: keys, passphrases, face images). Returns 0 on success, -1 with errno set. */
int enrolld_disable_dumps(void);
/* Whether the process is dumpable (prctl PR_GET_DUMPABLE): 1, 0, or -1 with errno set. */
int enrolld_is_dumpable(void);
/* explicit_bzero: zeroes `length` bytes at `pointer` in a way the compiler may not drop. */
void enrolld_wipe(void *pointer, size_t length);
#endif
