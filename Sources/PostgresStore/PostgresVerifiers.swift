import Foundation
import Store

/// The verifier registry of `PostgresTransaction` (schema version 6).
extension PostgresTransaction {
    private static let verifierColumns = """
        id, legal_name, elements, purpose, valid_from, valid_until, status, credential, certificate_fingerprint,
        certificate_pem, created_at, updated_at
        """

    func saveVerifier(_ verifier: VerifierRecord) throws(StoreError) {
        try write(
            """
            INSERT INTO verifiers (\(Self.verifierColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (id) DO UPDATE SET legal_name = excluded.legal_name, elements = excluded.elements,
                purpose = excluded.purpose, valid_from = excluded.valid_from, valid_until = excluded.valid_until,
                status = excluded.status, credential = excluded.credential,
                certificate_fingerprint = excluded.certificate_fingerprint,
                certificate_pem = excluded.certificate_pem, updated_at = excluded.updated_at
            """,
            [
                .text(verifier.id), .text(verifier.legalName), .text(verifier.elements.joined(separator: ",")),
                .text(verifier.purpose), .integer(verifier.validFrom.storeMilliseconds),
                .integer(verifier.validUntil.storeMilliseconds), .text(verifier.status.rawValue),
                .text(verifier.credential.rawValue), .text(verifier.certificateFingerprint),
                .text(verifier.certificatePEM), .integer(verifier.createdAt.storeMilliseconds),
                .integer(verifier.updatedAt.storeMilliseconds),
            ])
    }

    func verifier(id: String) throws(StoreError) -> VerifierRecord? {
        try verifiers(where: "WHERE id = $1", [.text(id)]).first
    }

    func verifier(fingerprint: String) throws(StoreError) -> VerifierRecord? {
        try verifiers(where: "WHERE certificate_fingerprint = $1", [.text(fingerprint)]).first
    }

    func verifiers() throws(StoreError) -> [VerifierRecord] {
        try verifiers(where: "ORDER BY id", [])
    }

    private func verifiers(where clause: String, _ values: [PostgresValue]) throws(StoreError) -> [VerifierRecord] {
        try rows("SELECT \(Self.verifierColumns) FROM verifiers \(clause)", values) { row, index throws(StoreError) in
            VerifierRecord(
                id: row.text(index, 0), legalName: row.text(index, 1),
                elements: row.text(index, 2).split(separator: ",").map(String.init), purpose: row.text(index, 3),
                validFrom: Date(storeMilliseconds: try row.integer(index, 4)),
                validUntil: Date(storeMilliseconds: try row.integer(index, 5)),
                status: try Self.value(row.text(index, 6), "verifier status"),
                credential: try Self.value(row.text(index, 7), "verifier credential"),
                certificateFingerprint: row.text(index, 8), certificatePEM: row.text(index, 9),
                createdAt: Date(storeMilliseconds: try row.integer(index, 10)),
                updatedAt: Date(storeMilliseconds: try row.integer(index, 11)))
        }
    }
}
