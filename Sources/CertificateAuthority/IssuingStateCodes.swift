/// Maps the issuing state as a travel document states it (ICAO 9303-3 §5: ISO 3166-1 alpha-3, plus
/// ICAO's own codes such as `D` for Germany) to the ISO 3166-1 alpha-2 code an X.509 `C` attribute needs
/// (RFC 5280 §4.1.2.4, X.520 `CountryName`).
///
/// The table is deliberately small: the EU/EEA states, the United Kingdom and Switzerland, and the
/// states enrolld's deployments and test documents meet most (including HKG, MAC, TWN, VNM). ICAO codes
/// with no ISO alpha-2 equivalent (organisations such as `UNO`, `EUE`, `XXA` stateless, `RKS`) and codes not
/// in the table map to nil, and the certificate then carries no `C` attribute rather than a guessed one.
/// `UTO` (ICAO's fictional specimen state "Utopia") maps to `UT`, the convention the ICAO specimen
/// documents and this project's test PKI use; remove it through `overrides` in production if wanted.
public struct IssuingStateCodes: Sendable, Equatable {
    /// Extra or replacing entries, alpha-3 (or ICAO code) → alpha-2; an empty value removes an entry.
    public var overrides: [String: String]

    public init(overrides: [String: String] = [:]) { self.overrides = overrides }

    /// The alpha-2 code for `icaoCode` (`"VNM"`, `"D<<"`, `"d"`, or already `"VN"`), or nil when unknown.
    public func alpha2(forICAO icaoCode: String) -> String? {
        let code = String(icaoCode.uppercased().filter { $0 != "<" && $0 != " " })
        if let override = overrides[code] { return override.isEmpty ? nil : override }
        if let known = Self.table[code] { return known }
        if code.count == 2, Self.knownAlpha2.contains(code) || overrides.values.contains(code) { return code }
        return nil
    }

    static let table: [String: String] = [
        // European Union
        "AUT": "AT", "BEL": "BE", "BGR": "BG", "HRV": "HR", "CYP": "CY", "CZE": "CZ", "DNK": "DK", "EST": "EE",
        "FIN": "FI", "FRA": "FR", "D": "DE", "DEU": "DE", "GRC": "GR", "HUN": "HU", "IRL": "IE", "ITA": "IT",
        "LVA": "LV", "LTU": "LT", "LUX": "LU", "MLT": "MT", "NLD": "NL", "POL": "PL", "PRT": "PT", "ROU": "RO",
        "SVK": "SK", "SVN": "SI", "ESP": "ES", "SWE": "SE",
        // Rest of Europe
        "ISL": "IS", "LIE": "LI", "NOR": "NO", "CHE": "CH", "GBR": "GB", "AND": "AD", "MCO": "MC", "SMR": "SM",
        "VAT": "VA", "ALB": "AL", "BIH": "BA", "MNE": "ME", "MKD": "MK", "SRB": "RS", "MDA": "MD", "UKR": "UA",
        "BLR": "BY", "RUS": "RU", "TUR": "TR", "GEO": "GE", "ARM": "AM",
        // Americas, Asia-Pacific, Middle East, Africa
        "USA": "US", "CAN": "CA", "MEX": "MX", "BRA": "BR", "ARG": "AR", "CHL": "CL", "COL": "CO",
        "AUS": "AU", "NZL": "NZ", "JPN": "JP", "KOR": "KR", "CHN": "CN", "HKG": "HK", "MAC": "MO", "TWN": "TW",
        "SGP": "SG", "MYS": "MY", "THA": "TH", "VNM": "VN", "PHL": "PH", "IDN": "ID", "IND": "IN", "PAK": "PK",
        "ISR": "IL", "ARE": "AE", "SAU": "SA", "QAT": "QA", "EGY": "EG", "MAR": "MA", "TUN": "TN", "ZAF": "ZA",
        "NGA": "NG", "KEN": "KE",
        // ICAO specimen state
        "UTO": "UT",
    ]

    static let knownAlpha2 = Set(table.values)
}
