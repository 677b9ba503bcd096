#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include "CTestSupport.h"

int enrolld_test_connect_as(const char *path, uid_t uid, gid_t gid) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(address.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(address.sun_path, path);
    /* The group first, while the thread is still root; back in the opposite order. */
    if (syscall(SYS_setresgid, -1, gid, -1) != 0) return -1;
    if (syscall(SYS_setresuid, -1, uid, -1) != 0) {
        int saved = errno;
        syscall(SYS_setresgid, -1, 0, -1);
        errno = saved;
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int failure = 0;
    if (fd < 0) {
        failure = errno;
    } else if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        failure = errno;
        close(fd);
        fd = -1;
    }
    if (syscall(SYS_setresuid, -1, 0, -1) != 0 || syscall(SYS_setresgid, -1, 0, -1) != 0) {
        /* Cannot happen for a thread whose real uid is 0; refuse to go on as someone else. */
        _exit(70);
    }
    errno = failure;
    return fd;
}
