import CXMLSecurity
import Foundation
import OpenSSLKit

/// Why an XML signature could not be made or checked (from the C boundary in `CXMLSecurity`).
public struct XMLSignatureError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The document is not well-formed, has a DTD, or not exactly one signature as a child of the root.
        case malformed
        /// The signature does not verify, or does not cover the whole document.
        case invalid
        /// A key, the library or memory failed.
        case failed
    }

    public var kind: Kind
    public var reason: String

    public var description: String { reason }
}

/// Enveloped XML-DSig (W3C XML Signature 1.1) over whole documents, through libxmlsec1; see `CXMLSecurity.h`
/// for the limits enforced before and during parsing.
enum XMLSignature {
    /// Signs the template's one ds:Signature with `key`.
    static func sign(_ document: [UInt8], key: PrivateKey) throws(XMLSignatureError) -> [UInt8] {
        let pem: String
        do {
            pem = try key.pemEncoded()
        } catch {
            throw XMLSignatureError(kind: .failed, reason: "the signing key cannot be exported: \(error)")
        }
        var keyBytes = Array(pem.utf8)
        defer { for index in keyBytes.indices { keyBytes[index] = 0 } }
        return try call { out, size, error, capacity in
            enrolld_xmlsec_sign(document, document.count, keyBytes, keyBytes.count, out, size, error, capacity)
        }
    }

    /// Verifies the document's signature with `signer`'s key; returns the canonical form (exclusive C14N, no
    /// comments) of the document without its signature: what the whole-document reference signed.
    static func verify(_ document: [UInt8], signer: X509Certificate) throws(XMLSignatureError) -> [UInt8] {
        let certificate = signer.der
        return try call { out, size, error, capacity in
            enrolld_xmlsec_verify(document, document.count, certificate, certificate.count, out, size, error, capacity)
        }
    }

    /// The certificates in the signature's KeyInfo/X509Data, unverified; those that do not parse are skipped.
    static func signatureCertificates(_ document: [UInt8]) throws(XMLSignatureError) -> [X509Certificate] {
        let text = try call { out, size, error, capacity in
            enrolld_xmlsec_signature_certificates(document, document.count, out, size, error, capacity)
        }
        return String(decoding: text, as: UTF8.self).split(separator: "\n").prefix(16).compactMap { line in
            guard let data = Data(base64Encoded: String(line), options: .ignoreUnknownCharacters) else { return nil }
            return try? X509Certificate(der: [UInt8](data))
        }
    }

    private static func call(
        _ body: (
            UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>,
            UnsafeMutablePointer<CChar>, Int
        ) -> Int32
    ) throws(XMLSignatureError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var error = [CChar](repeating: 0, count: 512)
        let status = error.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return ENROLLD_XMLSEC_FAILED }
            return body(&output, &size, base, buffer.count)
        }
        defer { enrolld_xmlsec_free(output) }
        guard status == 0 else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let kind: XMLSignatureError.Kind
            switch status {
            case ENROLLD_XMLSEC_MALFORMED: kind = .malformed
            case ENROLLD_XMLSEC_INVALID: kind = .invalid
            default: kind = .failed
            }
            throw XMLSignatureError(kind: kind, reason: reason.isEmpty ? "xmlsec failed" : reason)
        }
        guard let output else { return [] }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}
