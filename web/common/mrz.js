// ICAO Doc 9303 Part 3 §4.9: the check digit of an MRZ field. Characters count as 0-9, A-Z = 10-35, '<' = 0,
// weighted 7, 3, 1 repeating; the digit is the sum modulo 10. The kiosk shows it live beside what a person types,
// so they can compare it with the digit printed after the field on the card.

export function checkDigit(field) {
    const weights = [7, 3, 1];
    let sum = 0;
    for (let index = 0; index < field.length; index += 1) {
        const character = field[index];
        let value;
        if (character >= "0" && character <= "9") value = character.charCodeAt(0) - 48;
        else if (character >= "A" && character <= "Z") value = character.charCodeAt(0) - 55;
        else if (character === "<") value = 0;
        else return null;
        sum += value * weights[index % 3];
    }
    return sum % 10;
}

/// A document number as the MRZ writes it: upper case letters and digits.
export function normaliseDocumentNumber(text) {
    return text.toUpperCase().replace(/[^A-Z0-9]/g, "");
}

/// Whether `text` is a plausible YYMMDD date (month 01-12, day 01-31).
export function isMRZDate(text) {
    if (!/^[0-9]{6}$/.test(text)) return false;
    const month = Number(text.slice(2, 4));
    const day = Number(text.slice(4, 6));
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}
