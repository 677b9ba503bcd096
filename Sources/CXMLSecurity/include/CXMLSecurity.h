#ifndef ENROLLD_CXMLSECURITY_H
#define ENROLLD_CXMLSECURITY_H
/*
 * XML-DSig signing and verification of whole documents (ETSI TS 119 612 trust lists) through libxmlsec1 with
 * its OpenSSL engine and libxml2. Plain C types only: no libxml2 or xmlsec header leaks to callers.
 *
 * Thread safety: every function may be called from any thread at once; each call parses its own document and
 * makes its own keys. Initialisation happens once, on the first call (pthread_once).
 *
 * Limits checked before parsing: documents of at most ENROLLD_XMLSEC_MAX_DOCUMENT bytes, no document type
 * declaration (so no entities beyond the five predefined ones, no external subsets), no network access, element
 * nesting of at most 64 levels around the signature search. Verification allows only same-document references,
 * the enveloped-signature transform, canonicalisation (C14N 1.0/1.1, exclusive C14N), SHA-256/384/512 digests and
 * ECDSA or RSA PKCS#1 v1.5 signatures with SHA-256/384/512: no XPath, XSLT, remote URIs or SHA-1.
 *
 * Results: 0 success; ENROLLD_XMLSEC_MALFORMED the document cannot be parsed or has the wrong shape;
 * ENROLLD_XMLSEC_INVALID the signature does not verify or does not cover the whole document;
 * ENROLLD_XMLSEC_FAILED a key, the library or memory failed. On error `error` holds a NUL-terminated reason.
 * Output buffers are allocated with malloc: free them with enrolld_xmlsec_free.
 */
#include <stddef.h>
#include <stdint.h>

#define ENROLLD_XMLSEC_MAX_DOCUMENT (16 * 1024 * 1024)
#define ENROLLD_XMLSEC_MALFORMED 1
#define ENROLLD_XMLSEC_INVALID 2
#define ENROLLD_XMLSEC_FAILED 3

/* Signs the one ds:Signature template that is a child of the root element (its DigestValue and SignatureValue
 * empty) with the unencrypted PEM private key; writes the signed document (UTF-8) to *out. */
int enrolld_xmlsec_sign(const uint8_t *xml, size_t xml_size, const uint8_t *key_pem, size_t key_size,
                        uint8_t **out, size_t *out_size, char *error, size_t error_size);

/* Verifies the one ds:Signature of the document (a child of the root element) with the public key of the DER
 * certificate, and requires a verified reference to the whole document (URI "" or "#" + the root's Id). Writes
 * the exclusive canonical form without comments of the document with the signature removed to *out: exactly the
 * content the whole-document reference signed. */
int enrolld_xmlsec_verify(const uint8_t *xml, size_t xml_size, const uint8_t *certificate_der,
                          size_t certificate_size, uint8_t **out, size_t *out_size, char *error, size_t error_size);

/* Writes the text of every ds:KeyInfo/ds:X509Data/ds:X509Certificate of the document's signature (base64),
 * separated by newlines, to *out (empty when there are none). Nothing is verified. */
int enrolld_xmlsec_signature_certificates(const uint8_t *xml, size_t xml_size, uint8_t **out, size_t *out_size,
                                          char *error, size_t error_size);

void enrolld_xmlsec_free(void *pointer);
#endif
