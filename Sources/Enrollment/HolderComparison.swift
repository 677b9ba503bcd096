import EnrollAPIModel
import Foundation

/// Whether a document's holder is the person an account was sealed for: the same birth date, the same sex (when
/// both records state one) and the same name after ICAO 9303-3 §6 normalisation (upper case, national characters
/// transliterated, fillers and punctuation as single spaces). Given names may lose trailing words on one document
/// (MRZ truncation, a second name left out); the surname may not change here: a changed surname (after marriage, for
/// example) goes through an operator with a reason.
public enum HolderComparison {
    /// The differences between the sealed holder and the document's, as field names (`birth date`, `sex`,
    /// `surname`, `given names`); empty when they are the same person.
    public static func differences(sealed: PersonalData, document: PersonalData) -> [String] {
        var differences: [String] = []
        if sealed.birthDate != document.birthDate { differences.append("birth date") }
        if let before = sealed.sex, let now = document.sex, Self.stated(before), Self.stated(now), before != now {
            differences.append("sex")
        }
        if normalisedName(sealed.surname) != normalisedName(document.surname) { differences.append("surname") }
        let givenBefore = normalisedName(sealed.givenNames).split(separator: " ")
        let givenNow = normalisedName(document.givenNames).split(separator: " ")
        let shorter = min(givenBefore.count, givenNow.count)
        if shorter == 0 ? givenBefore.count != givenNow.count : givenBefore.prefix(shorter) != givenNow.prefix(shorter)
        {
            differences.append("given names")
        }
        return differences
    }

    /// `M` or `F`; `X` and `<` state nothing to compare.
    static func stated(_ sex: String) -> Bool { sex == "M" || sex == "F" }

    /// A name as the MRZ would write it (ICAO 9303-3 §6.A: Ä → AE, Ø → OE, ß → SS, other diacritics dropped), with
    /// `<`, spaces, hyphens and apostrophes as single spaces.
    public static func normalisedName(_ name: String) -> String {
        var text = ""
        for character in name.uppercased() {
            if let spelled = transliterations[character] {
                text += spelled
            } else {
                text += String(character).folding(options: [.diacriticInsensitive], locale: nil)
            }
        }
        let words = text.split { !($0.isASCII && $0.isLetter) }
        return words.joined(separator: " ")
    }

    static let transliterations: [Character: String] = [
        "Ä": "AE", "Æ": "AE", "Å": "AA", "Ö": "OE", "Ø": "OE", "Œ": "OE", "Ü": "UE", "ß": "SS", "Þ": "TH",
        "Ð": "D", "Ł": "L", "Ĳ": "IJ",
    ]
}

extension EnrollmentError {
    /// The document's holder is not the account's: nothing of the account changes.
    public static func holderMismatch(_ differences: [String]) -> EnrollmentError {
        EnrollmentError(
            .holderMismatch,
            "the card's holder differs from the account's (\(differences.joined(separator: ", "))): "
                + "nothing was changed; an operator checks the documents, and a changed surname is "
                + "approved with a reason")
    }
}
