#ifndef ENROLLD_CZBAR_SHIM_H
#define ENROLLD_CZBAR_SHIM_H
/* Debian's zbar library (libzbar-dev): reads the presentation QR code from an image (enroll-verifier). One image
   scanner per call; not shared between threads. */
#include <zbar.h>
#endif
