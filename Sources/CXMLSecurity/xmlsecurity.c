/* See include/CXMLSecurity.h for the contract. */
#include "CXMLSecurity.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

static pthread_once_t initialised = PTHREAD_ONCE_INIT;
static int initialisation_status = ENROLLD_XMLSEC_FAILED;
static char initialisation_error[256] = "xmlsec was not initialised";
/* The first error xmlsec or libxml2 reported during the current call on this thread. */
static __thread char thread_error[256];

static void note_xmlsec_error(const char *file, int line, const char *func, const char *error_object,
                              const char *error_subject, int reason, const char *message) {
    (void)file; (void)line; (void)func; (void)error_object; (void)reason;
    if (thread_error[0] != 0) return;
    snprintf(thread_error, sizeof thread_error, "%s: %s", error_subject ? error_subject : "xmlsec",
             message ? message : "error");
}

static void note_xml_error(void *context, xmlErrorPtr error) {
    (void)context;
    if (thread_error[0] != 0 || error == NULL) return;
    snprintf(thread_error, sizeof thread_error, "XML line %d: %s", error->line,
             error->message ? error->message : "parse error");
    size_t length = strlen(thread_error);
    if (length > 0 && thread_error[length - 1] == '\n') thread_error[length - 1] = 0;
}

static void initialise(void) {
    xmlInitParser();
    if (xmlSecInit() < 0) {
        snprintf(initialisation_error, sizeof initialisation_error, "xmlSecInit failed");
        return;
    }
    if (xmlSecCheckVersion() != 1) {
        snprintf(initialisation_error, sizeof initialisation_error, "libxmlsec1 version mismatch");
        return;
    }
    if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0) {
        snprintf(initialisation_error, sizeof initialisation_error, "xmlsec OpenSSL engine failed to start");
        return;
    }
    /* After xmlSecInit, which installs the default callback (printing to stderr). */
    xmlSecErrorsSetCallback(note_xmlsec_error);
    initialisation_status = 0;
}

static int fail(int status, char *error, size_t error_size, const char *reason) {
    if (error != NULL && error_size > 0) {
        if (thread_error[0] != 0) {
            snprintf(error, error_size, "%s (%s)", reason, thread_error);
        } else {
            snprintf(error, error_size, "%s", reason);
        }
    }
    return status;
}

static int start_call(char *error, size_t error_size) {
    pthread_once(&initialised, initialise);
    thread_error[0] = 0;
    xmlSetStructuredErrorFunc(NULL, note_xml_error);
    if (initialisation_status != 0) return fail(ENROLLD_XMLSEC_FAILED, error, error_size, initialisation_error);
    return 0;
}

/* Parses a bounded document without DTD or network; NULL (with the reason in error) when refused. */
static xmlDocPtr parse(const uint8_t *xml, size_t size, int *status, char *error, size_t error_size) {
    if (xml == NULL || size == 0 || size > ENROLLD_XMLSEC_MAX_DOCUMENT || size > INT_MAX) {
        *status = fail(ENROLLD_XMLSEC_MALFORMED, error, error_size, "empty or larger than 16 MiB");
        return NULL;
    }
    static const char doctype[] = "<!DOCTYPE";
    for (size_t i = 0; i + sizeof doctype - 1 <= size; i++) {
        if (xml[i] == '<' && memcmp(xml + i, doctype, sizeof doctype - 1) == 0) {
            *status = fail(ENROLLD_XMLSEC_MALFORMED, error, error_size, "document type declarations are refused");
            return NULL;
        }
    }
    xmlDocPtr doc = xmlReadMemory((const char *)xml, (int)size, "document.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        *status = fail(ENROLLD_XMLSEC_MALFORMED, error, error_size, "not well-formed XML");
        return NULL;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL || xmlDocGetRootElement(doc) == NULL) {
        xmlFreeDoc(doc);
        *status = fail(ENROLLD_XMLSEC_MALFORMED, error, error_size, "no root element, or a DTD");
        return NULL;
    }
    return doc;
}

static int is_dsig(xmlNodePtr node, const char *name) {
    return node != NULL && node->type == XML_ELEMENT_NODE && node->ns != NULL && node->ns->href != NULL &&
           xmlStrEqual(node->ns->href, xmlSecDSigNs) && xmlStrEqual(node->name, BAD_CAST name);
}

static void count_signatures(xmlNodePtr node, int depth, int *count, int *too_deep) {
    for (xmlNodePtr child = node; child != NULL; child = child->next) {
        if (child->type != XML_ELEMENT_NODE) continue;
        if (is_dsig(child, "Signature")) (*count)++;
        if (depth >= 64) {
            *too_deep = 1;
            return;
        }
        count_signatures(child->children, depth + 1, count, too_deep);
    }
}

/* The one ds:Signature of the document, which must be a child of the root element. */
static xmlNodePtr the_signature(xmlDocPtr doc, int *status, char *error, size_t error_size) {
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int count = 0, too_deep = 0;
    count_signatures(root, 0, &count, &too_deep);
    if (too_deep) {
        *status = fail(ENROLLD_XMLSEC_MALFORMED, error, error_size, "elements nested deeper than 64 levels");
        return NULL;
    }
    if (count != 1) {
        *status = fail(ENROLLD_XMLSEC_MALFORMED, error, error_size,
                       count == 0 ? "no ds:Signature" : "more than one ds:Signature");
        return NULL;
    }
    for (xmlNodePtr child = root->children; child != NULL; child = child->next) {
        if (is_dsig(child, "Signature")) return child;
    }
    *status = fail(ENROLLD_XMLSEC_MALFORMED, error, error_size, "the ds:Signature is not a child of the root");
    return NULL;
}

static int copy_out(const xmlChar *bytes, int length, uint8_t **out, size_t *out_size, char *error,
                    size_t error_size) {
    if (bytes == NULL || length < 0) return fail(ENROLLD_XMLSEC_FAILED, error, error_size, "serialisation failed");
    uint8_t *copy = malloc(length > 0 ? (size_t)length : 1);
    if (copy == NULL) return fail(ENROLLD_XMLSEC_FAILED, error, error_size, "out of memory");
    memcpy(copy, bytes, (size_t)length);
    *out = copy;
    *out_size = (size_t)length;
    return 0;
}

int enrolld_xmlsec_sign(const uint8_t *xml, size_t xml_size, const uint8_t *key_pem, size_t key_size,
                        uint8_t **out, size_t *out_size, char *error, size_t error_size) {
    int status = start_call(error, error_size);
    if (status != 0) return status;
    if (key_pem == NULL || key_size == 0 || key_size > 64 * 1024) {
        return fail(ENROLLD_XMLSEC_FAILED, error, error_size, "no signing key");
    }
    xmlDocPtr doc = parse(xml, xml_size, &status, error, error_size);
    if (doc == NULL) return status;
    xmlNodePtr signature = the_signature(doc, &status, error, error_size);
    xmlSecDSigCtxPtr context = NULL;
    if (signature == NULL) goto done;
    context = xmlSecDSigCtxCreate(NULL);
    if (context == NULL) {
        status = fail(ENROLLD_XMLSEC_FAILED, error, error_size, "signature context");
        goto done;
    }
    context->signKey = xmlSecCryptoAppKeyLoadMemory(key_pem, (xmlSecSize)key_size, xmlSecKeyDataFormatPem, NULL,
                                                    NULL, NULL);
    if (context->signKey == NULL) {
        status = fail(ENROLLD_XMLSEC_FAILED, error, error_size, "the signing key does not load");
        goto done;
    }
    if (xmlSecDSigCtxSign(context, signature) < 0) {
        status = fail(ENROLLD_XMLSEC_FAILED, error, error_size, "signing failed");
        goto done;
    }
    xmlChar *bytes = NULL;
    int length = 0;
    xmlDocDumpMemoryEnc(doc, &bytes, &length, "UTF-8");
    status = copy_out(bytes, length, out, out_size, error, error_size);
    xmlFree(bytes);
done:
    if (context != NULL) xmlSecDSigCtxDestroy(context);
    xmlFreeDoc(doc);
    return status;
}

static int enable_transforms(xmlSecDSigCtxPtr context) {
    xmlSecTransformId references[] = {
        xmlSecTransformEnvelopedId, xmlSecTransformExclC14NId, xmlSecTransformExclC14NWithCommentsId,
        xmlSecTransformInclC14NId, xmlSecTransformInclC14NWithCommentsId, xmlSecTransformInclC14N11Id,
        xmlSecTransformInclC14N11WithCommentsId, xmlSecTransformSha256Id, xmlSecTransformSha384Id,
        xmlSecTransformSha512Id,
    };
    xmlSecTransformId signatures[] = {
        xmlSecTransformExclC14NId, xmlSecTransformExclC14NWithCommentsId, xmlSecTransformInclC14NId,
        xmlSecTransformInclC14NWithCommentsId, xmlSecTransformInclC14N11Id,
        xmlSecTransformInclC14N11WithCommentsId, xmlSecTransformEcdsaSha256Id, xmlSecTransformEcdsaSha384Id,
        xmlSecTransformEcdsaSha512Id, xmlSecTransformRsaSha256Id, xmlSecTransformRsaSha384Id,
        xmlSecTransformRsaSha512Id,
    };
    for (size_t i = 0; i < sizeof references / sizeof references[0]; i++) {
        if (xmlSecDSigCtxEnableReferenceTransform(context, references[i]) < 0) return -1;
    }
    for (size_t i = 0; i < sizeof signatures / sizeof signatures[0]; i++) {
        if (xmlSecDSigCtxEnableSignatureTransform(context, signatures[i]) < 0) return -1;
    }
    context->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
    return 0;
}

int enrolld_xmlsec_verify(const uint8_t *xml, size_t xml_size, const uint8_t *certificate_der,
                          size_t certificate_size, uint8_t **out, size_t *out_size, char *error, size_t error_size) {
    int status = start_call(error, error_size);
    if (status != 0) return status;
    if (certificate_der == NULL || certificate_size == 0 || certificate_size > 64 * 1024) {
        return fail(ENROLLD_XMLSEC_FAILED, error, error_size, "no signer certificate");
    }
    xmlDocPtr doc = parse(xml, xml_size, &status, error, error_size);
    if (doc == NULL) return status;
    xmlSecDSigCtxPtr context = NULL;
    xmlChar *root_id = NULL;
    xmlNodePtr signature = the_signature(doc, &status, error, error_size);
    if (signature == NULL) goto done;

    /* A reference may name the root by its Id attribute (TS 119 612 allows "#<Id>"): make that Id resolvable. */
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlAttrPtr id_attribute = xmlHasProp(root, BAD_CAST "Id");
    if (id_attribute != NULL) {
        root_id = xmlNodeListGetString(doc, id_attribute->children, 1);
        if (root_id != NULL && xmlGetID(doc, root_id) == NULL) xmlAddID(NULL, doc, root_id, id_attribute);
    }

    context = xmlSecDSigCtxCreate(NULL);
    if (context == NULL || enable_transforms(context) < 0) {
        status = fail(ENROLLD_XMLSEC_FAILED, error, error_size, "verification context");
        goto done;
    }
    context->signKey = xmlSecCryptoAppKeyLoadMemory(certificate_der, (xmlSecSize)certificate_size,
                                                    xmlSecKeyDataFormatCertDer, NULL, NULL, NULL);
    if (context->signKey == NULL) {
        status = fail(ENROLLD_XMLSEC_FAILED, error, error_size, "the signer certificate's key does not load");
        goto done;
    }
    if (xmlSecDSigCtxVerify(context, signature) < 0) {
        status = fail(ENROLLD_XMLSEC_INVALID, error, error_size, "the signature cannot be processed");
        goto done;
    }
    if (context->status != xmlSecDSigStatusSucceeded) {
        status = fail(ENROLLD_XMLSEC_INVALID, error, error_size, "the signature does not verify with that key");
        goto done;
    }
    int whole_document = 0;
    xmlSecSize count = xmlSecPtrListGetSize(&context->signedInfoReferences);
    for (xmlSecSize i = 0; i < count; i++) {
        xmlSecDSigReferenceCtxPtr reference = xmlSecPtrListGetItem(&context->signedInfoReferences, i);
        if (reference == NULL || reference->status != xmlSecDSigStatusSucceeded) {
            status = fail(ENROLLD_XMLSEC_INVALID, error, error_size, "a reference does not verify");
            goto done;
        }
        if (reference->uri != NULL &&
            (reference->uri[0] == 0 ||
             (root_id != NULL && reference->uri[0] == '#' && xmlStrEqual(reference->uri + 1, root_id)))) {
            whole_document = 1;
        }
    }
    if (!whole_document) {
        status = fail(ENROLLD_XMLSEC_INVALID, error, error_size, "the signature does not cover the whole document");
        goto done;
    }
    xmlUnlinkNode(signature);
    xmlFreeNode(signature);
    xmlChar *bytes = NULL;
    int length = xmlC14NDocDumpMemory(doc, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0, &bytes);
    status = copy_out(bytes, length, out, out_size, error, error_size);
    if (bytes != NULL) xmlFree(bytes);
done:
    if (root_id != NULL) xmlFree(root_id);
    if (context != NULL) xmlSecDSigCtxDestroy(context);
    xmlFreeDoc(doc);
    return status;
}

int enrolld_xmlsec_signature_certificates(const uint8_t *xml, size_t xml_size, uint8_t **out, size_t *out_size,
                                          char *error, size_t error_size) {
    int status = start_call(error, error_size);
    if (status != 0) return status;
    xmlDocPtr doc = parse(xml, xml_size, &status, error, error_size);
    if (doc == NULL) return status;
    xmlNodePtr signature = the_signature(doc, &status, error, error_size);
    if (signature == NULL) {
        xmlFreeDoc(doc);
        return status;
    }
    size_t capacity = 0, used = 0;
    uint8_t *text = NULL;
    for (xmlNodePtr info = signature->children; info != NULL; info = info->next) {
        if (!is_dsig(info, "KeyInfo")) continue;
        for (xmlNodePtr data = info->children; data != NULL; data = data->next) {
            if (!is_dsig(data, "X509Data")) continue;
            for (xmlNodePtr item = data->children; item != NULL; item = item->next) {
                if (!is_dsig(item, "X509Certificate")) continue;
                xmlChar *content = xmlNodeGetContent(item);
                if (content == NULL) continue;
                size_t length = strlen((const char *)content);
                if (used + length + 1 > capacity) {
                    size_t grown = (used + length + 1) * 2;
                    uint8_t *bigger = realloc(text, grown);
                    if (bigger == NULL) {
                        xmlFree(content);
                        free(text);
                        xmlFreeDoc(doc);
                        return fail(ENROLLD_XMLSEC_FAILED, error, error_size, "out of memory");
                    }
                    text = bigger;
                    capacity = grown;
                }
                memcpy(text + used, content, length);
                used += length;
                text[used++] = '\n';
                xmlFree(content);
            }
        }
    }
    xmlFreeDoc(doc);
    if (text == NULL) {
        text = malloc(1);
        if (text == NULL) return fail(ENROLLD_XMLSEC_FAILED, error, error_size, "out of memory");
    }
    *out = text;
    *out_size = used;
    return 0;
}

void enrolld_xmlsec_free(void *pointer) { free(pointer); }
