import EnrollAPIModel
import Foundation
import MRTD

/// The personal data an account keeps, sealed at rest. Never logged.
public struct PersonalData: Codable, Sendable, Equatable {
    public var surname: String
    public var givenNames: String
    /// ISO 8601 dates.
    public var birthDate: String
    public var documentNumber: String
    public var documentType: String
    public var documentExpiry: String
    public var issuingState: String
    public var nationality: String
    /// The MRZ's sex (`M`, `F`, `X` or `<`); nil in records sealed before it was kept.
    public var sex: String?
    /// Contact details given at registration: e-mail and phone validated (`ContactKind`), other fields free form.
    public var contact: [String: String]
    /// When each contact field was last verified (a one-time code sent to it was entered), by field name; a field
    /// whose value changes loses its entry. Nil when none is verified (and in records sealed before it was kept).
    public var contactVerifiedAt: [String: Date]?
    /// Documents the account was verified with before (identity lifecycle); nil when none.
    public var previousDocuments: [PreviousDocument]?
    /// Names the holder had before an operator accepted a changed one (`HolderNameChange.swift`); nil when none.
    public var previousNames: [PreviousName]?

    public init(
        surname: String, givenNames: String, birthDate: String, documentNumber: String, documentType: String,
        documentExpiry: String, issuingState: String, nationality: String, contact: [String: String] = [:]
    ) {
        self.surname = surname
        self.givenNames = givenNames
        self.birthDate = birthDate
        self.documentNumber = documentNumber
        self.documentType = documentType
        self.documentExpiry = documentExpiry
        self.issuingState = issuingState
        self.nationality = nationality
        self.contact = contact
    }

    /// Whether the contact field `field` is verified.
    public func isVerified(_ field: String) -> Bool { contactVerifiedAt?[field] != nil }

    /// The holder's name as the chip states it, given names first (for the certificate's CN).
    public var displayName: String {
        [givenNames, surname].filter { !$0.isEmpty }.joined(separator: " ")
    }
}

/// Facts about a read document that enrollment decides on.
public struct DocumentFacts: Sendable, Equatable {
    public var personal: PersonalData
    /// The document's typed identity under the configured rules (`DocumentIdentity`).
    public var identity: DocumentIdentity
    /// What the identity key was computed over before keys were typed: to find an account a migrated store keeps
    /// under its old key (`IdentityResolution`).
    public var legacyCanonicalIdentity: String
    public var birthDate: MRZDate
    public var expiryDate: MRZDate

    public init(document: DocumentData, rules: IdentityRules = IdentityRules()) throws(EnrollmentError) {
        let mrz = document.mrz
        do {
            birthDate = try mrz.resolvedBirthDate()
            expiryDate = try mrz.resolvedExpiryDate()
        } catch {
            throw EnrollmentError(.invalidDocumentDates, "the chip's MRZ dates are not valid: \(error)")
        }
        personal = PersonalData(
            surname: mrz.primaryIdentifier, givenNames: mrz.secondaryIdentifier,
            birthDate: birthDate.description, documentNumber: mrz.documentNumber,
            documentType: mrz.documentCode, documentExpiry: expiryDate.description,
            issuingState: mrz.issuingState, nationality: mrz.nationality)
        personal.sex = mrz.sex.rawValue
        identity = DocumentIdentity(document: document, rules: rules)
        legacyCanonicalIdentity = DocumentIdentity.legacyCanonical(document: document)
    }

    /// Whole years of age on `day`.
    public func age(on day: MRZDate) -> Int {
        var years = day.year - birthDate.year
        if (day.month, day.day) < (birthDate.month, birthDate.day) { years -= 1 }
        return years
    }
}
