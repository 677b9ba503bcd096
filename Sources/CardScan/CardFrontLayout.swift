/// Where an issuer prints the card access number (CAN, ICAO 9303-11 §9.7.3: six digits, no check digit) on the
/// front of its ID-1 cards, as fractions of the card seen landscape with the portrait on the left.
///
/// A value type so that the daemon's configuration can describe each issuer's cards; the region may be generous
/// (the reader finds the row of digits inside it).
public struct CardFrontLayout: Sendable, Equatable, Hashable {
    /// The issuing state's three-letter code (ICAO 9303-3 §5), or any label the operator chooses.
    public var issuer: String
    public var left: Double
    public var top: Double
    public var width: Double
    public var height: Double
    /// Real CANs have 6 digits.
    public var digitCount: Int

    /// Throws `.engineFailure` when the region leaves the card or the digit count is out of range.
    public init(
        issuer: String, left: Double, top: Double, width: Double, height: Double,
        digitCount: Int = 6
    ) throws(CardScanError) {
        guard left >= 0, top >= 0, width > 0, height > 0, left + width <= 1, top + height <= 1 else {
            throw .engineFailure(reason: "CAN region of \(issuer) lies outside the card")
        }
        guard (4...10).contains(digitCount) else {
            throw .engineFailure(reason: "CAN of \(issuer) must have 4 to 10 digits")
        }
        self.issuer = issuer
        self.left = left
        self.top = top
        self.width = width
        self.height = height
        self.digitCount = digitCount
    }

    private init(unchecked issuer: String, _ left: Double, _ top: Double, _ width: Double, _ height: Double) {
        self.issuer = issuer
        self.left = left
        self.top = top
        self.width = width
        self.height = height
        self.digitCount = 6
    }

    /// The fictional issuer "UTO" of the test cards (`SyntheticCards`): the CAN at the bottom right of the front,
    /// where several European ID cards print it.
    public static let utopia = CardFrontLayout(unchecked: "UTO", 0.62, 0.80, 0.34, 0.16)

    /// Where the synthetic cards print the CAN's first digit and baseline (the region above, tighter).
    static let utopiaPrint = CardFrontLayout(unchecked: "UTO", 0.64, 0.82, 0.30, 0.12)
}
