#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>
#include "CSystem.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

int enrolld_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int enrolld_peer_groups(int fd, gid_t *groups, int *count) {
    socklen_t length = (socklen_t)(*count < 0 ? 0 : *count) * sizeof(gid_t);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length) != 0) {
        if (errno == ERANGE) *count = (int)(length / sizeof(gid_t));
        return -1;
    }
    *count = (int)(length / sizeof(gid_t));
    return 0;
}
