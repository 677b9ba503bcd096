#include <malloc.h>
#include <stdlib.h>
#include "CSystem.h"

int enrolld_limit_malloc_arenas(int count) {
    if (getenv("MALLOC_ARENA_MAX") != NULL) return 0;
    return mallopt(M_ARENA_MAX, count) == 1 ? 0 : -1;
}
