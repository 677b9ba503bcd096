#ifndef ENROLLD_CQRENCODE_SHIM_H
#define ENROLLD_CQRENCODE_SHIM_H
/* Debian's libqrencode (libqrencode-dev): QR code symbols for the presentation tokens. QRcode_encodeString is
   reentrant; each call returns a symbol the caller frees with QRcode_free. */
#include <qrencode.h>
#endif
