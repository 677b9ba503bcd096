#ifndef ENROLLD_CLIBPQ_SHIM_H
#define ENROLLD_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
