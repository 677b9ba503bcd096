#include "CFaceEngine.h"
extern "C" int enrolld_face_engine_version(void) { return 1; }
