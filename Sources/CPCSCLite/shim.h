#ifndef ENROLLD_CPCSCLITE_SHIM_H
#define ENROLLD_CPCSCLITE_SHIM_H
#include <PCSC/winscard.h>
#include <PCSC/reader.h>

/* SCARD_PCI_T0/T1 are macros over exported globals; Swift cannot import them directly. */
static inline const SCARD_IO_REQUEST *enrolld_pci_t0(void) { return SCARD_PCI_T0; }
static inline const SCARD_IO_REQUEST *enrolld_pci_t1(void) { return SCARD_PCI_T1; }
#endif
