import Foundation
import OpenSSLKit

/// One revoked certificate for a CRL.
public struct Revocation: Sendable, Equatable {
    /// The certificate's serial number in hex (`0A1B…`; `0x`, colons and spaces are ignored).
    public var serialHex: String
    public var date: Date
    public var reason: CRLReason

    public init(serialHex: String, date: Date, reason: CRLReason) {
        self.serialHex = serialHex
        self.date = date
        self.reason = reason
    }
}

/// A signed CRL.
public struct IssuedCRL: Sendable {
    public let crl: CertificateRevocationList
    public let crlNumber: Int
    public var der: [UInt8] { crl.der }
    public var pem: String { crl.pem }
}

extension IssuingAuthority {
    /// Signs a v2 CRL (RFC 5280 §5) listing `revoked`, each with its reasonCode entry extension (none for
    /// `unspecified`, §5.3.1), with the cRLNumber and authorityKeyIdentifier extensions.
    /// - Throws: `.invalidSerial` for a serial that is not 1–20 bytes of hex, `.invalidCRLParameters` for a
    ///   negative CRL number or nextUpdate not after thisUpdate, `.crypto`.
    public func makeCRL(
        revoked: [Revocation], crlNumber: Int, thisUpdate: Date, nextUpdate: Date
    )
        throws(CertificateAuthorityError) -> IssuedCRL
    {
        guard crlNumber >= 0 else { throw .invalidCRLParameters("CRL number \(crlNumber) is negative") }
        guard nextUpdate > thisUpdate else { throw .invalidCRLParameters("nextUpdate is not after thisUpdate") }
        var entries: [CRLBuilder.Revocation] = []
        var reasons: [[UInt8]: CRLReason] = [:]
        for revocation in revoked {
            let serial = try Self.serialBytes(hex: revocation.serialHex)
            entries.append(CRLBuilder.Revocation(serialNumber: serial, date: revocation.date))
            reasons[serial] = revocation.reason
        }
        let builder = CRLBuilder(thisUpdate: thisUpdate, nextUpdate: nextUpdate, crlNumber: crlNumber, revoked: entries)
        let crl = try crypto { () throws(OpenSSLError) in
            try builder.sign(issuer: certificate, key: key, reasons: reasons, scheme: scheme)
        }
        return IssuedCRL(crl: crl, crlNumber: crlNumber)
    }

    /// Parses a hex serial into its magnitude without leading zeros.
    static func serialBytes(hex: String) throws(CertificateAuthorityError) -> [UInt8] {
        var digits = hex.lowercased().hasPrefix("0x") ? String(hex.dropFirst(2)) : hex
        digits = digits.filter { $0 != ":" && $0 != " " }
        guard !digits.isEmpty, digits.count <= 80, digits.allSatisfy(\.isHexDigit) else { throw .invalidSerial(hex) }
        if digits.count % 2 == 1 { digits = "0" + digits }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { throw .invalidSerial(hex) }
            bytes.append(byte)
            index = next
        }
        let magnitude = Array(bytes.drop { $0 == 0 })
        guard !magnitude.isEmpty, magnitude.count <= 20 else { throw .invalidSerial(hex) }
        return magnitude
    }
}
