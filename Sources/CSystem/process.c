#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>
#include "CSystem.h"

static pthread_once_t syslog_opened = PTHREAD_ONCE_INIT;

static void open_syslog(void) { openlog("enrolld", LOG_PID | LOG_NDELAY, LOG_DAEMON); }

void enrolld_syslog(int priority, const char *message) {
    pthread_once(&syslog_opened, open_syslog);
    syslog(priority, "%s", message);
}

int enrolld_disable_dumps(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

int enrolld_is_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

void enrolld_wipe(void *pointer, size_t length) { explicit_bzero(pointer, length); }
