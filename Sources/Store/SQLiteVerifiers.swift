import Foundation

/// The verifier registry of `SQLiteTransaction` (schema version 5).
extension SQLiteTransaction {
    private static let verifierColumns = """
        id, legal_name, elements, purpose, valid_from, valid_until, status, credential, certificate_fingerprint,
        certificate_pem, created_at, updated_at
        """

    func saveVerifier(_ verifier: VerifierRecord) throws(StoreError) {
        try open().run(
            """
            INSERT INTO verifiers (\(Self.verifierColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET legal_name = excluded.legal_name, elements = excluded.elements,
                purpose = excluded.purpose, valid_from = excluded.valid_from, valid_until = excluded.valid_until,
                status = excluded.status, credential = excluded.credential,
                certificate_fingerprint = excluded.certificate_fingerprint,
                certificate_pem = excluded.certificate_pem, updated_at = excluded.updated_at
            """,
            [
                .text(verifier.id), .text(verifier.legalName), .text(verifier.elements.joined(separator: ",")),
                .text(verifier.purpose), .integer(verifier.validFrom.milliseconds),
                .integer(verifier.validUntil.milliseconds), .text(verifier.status.rawValue),
                .text(verifier.credential.rawValue), .text(verifier.certificateFingerprint),
                .text(verifier.certificatePEM), .integer(verifier.createdAt.milliseconds),
                .integer(verifier.updatedAt.milliseconds),
            ])
    }

    func verifier(id: String) throws(StoreError) -> VerifierRecord? {
        try verifiers(where: "WHERE id = ?", [.text(id)]).first
    }

    func verifier(fingerprint: String) throws(StoreError) -> VerifierRecord? {
        try verifiers(where: "WHERE certificate_fingerprint = ?", [.text(fingerprint)]).first
    }

    func verifiers() throws(StoreError) -> [VerifierRecord] {
        try verifiers(where: "ORDER BY id", [])
    }

    private func verifiers(where clause: String, _ values: [SQLiteValue]) throws(StoreError) -> [VerifierRecord] {
        try open().query("SELECT \(Self.verifierColumns) FROM verifiers \(clause)", values) { row throws(StoreError) in
            VerifierRecord(
                id: row.text(0), legalName: row.text(1),
                elements: row.text(2).split(separator: ",").map(String.init), purpose: row.text(3),
                validFrom: Date(milliseconds: row.integer(4)), validUntil: Date(milliseconds: row.integer(5)),
                status: try Self.value(row.text(6), "verifier status"),
                credential: try Self.value(row.text(7), "verifier credential"),
                certificateFingerprint: row.text(8), certificatePEM: row.text(9),
                createdAt: Date(milliseconds: row.integer(10)), updatedAt: Date(milliseconds: row.integer(11)))
        }
    }
}
