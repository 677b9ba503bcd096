/// The issuing state as a travel document states it (ICAO 9303-3 §5: ISO 3166-1 alpha-3, plus ICAO's own codes such
/// as `D` for Germany) and the two-letter codes other standards need for it:
///
/// - `alpha2(forICAO:)`: the ISO 3166-1 alpha-2 code an X.509 `C` attribute of a holder certificate carries (RFC 5280
///   §4.1.2.4, X.520 `CountryName`). Organisations (`UNO`, `EUE`, `XPO`, ...), nationality-only codes (`XXA`
///   stateless, `XXB`/`XXC` refugee, `XXX` unspecified) and unknown codes give nil: such a certificate then carries
///   no `C` rather than a guessed one.
/// - `anchorCountry(forICAO:)`: the country attribute (`C`) of the CSCA and document signer certificates that may
///   anchor a document of that issuing state (ICAO 9303-12 §7.1: the CSCA's and DSC's countryName is the issuing
///   state's). The ISO code, and for organisations the code their CSCAs use (`UN`, `EU`, Kosovo's `XK`).
///
/// `UTO` (ICAO's fictional specimen state "Utopia") maps to `UT`, the convention ICAO's specimen documents and this
/// project's test PKI use; remove it through `overrides` in production if wanted.
public struct IssuingStateCodes: Sendable, Equatable {
    /// Extra or replacing entries, ICAO code → two-letter code, for both mappings; an empty value removes an entry.
    public var overrides: [String: String]

    public init(overrides: [String: String] = [:]) { self.overrides = overrides }

    /// The ICAO code as a document writes it, normalised: upper case, without `<` fillers or spaces (`"D<<"` → `D`).
    public static func normalised(_ icaoCode: String) -> String {
        String(icaoCode.uppercased().filter { $0 != "<" && $0 != " " })
    }

    /// The ISO 3166-1 alpha-2 code for `icaoCode` (`"VNM"`, `"D<<"`, `"d"`, or already `"VN"`), or nil when there is
    /// none (organisations, nationality-only codes, unknown codes).
    public func alpha2(forICAO icaoCode: String) -> String? {
        let code = Self.normalised(icaoCode)
        if let override = overrides[code] { return override.isEmpty ? nil : override }
        if let known = Self.iso[code] ?? Self.icaoStates[code] { return known }
        if code.count == 2, Self.knownAlpha2.contains(code) || overrides.values.contains(code) { return code }
        return nil
    }

    /// The countryName a CSCA or document signer of `icaoCode`'s documents carries (ICAO 9303-12 §7.1), or nil when
    /// no state issues documents under that code (nationality-only codes) or the code is unknown.
    public func anchorCountry(forICAO icaoCode: String) -> String? {
        let code = Self.normalised(icaoCode)
        if let override = overrides[code] { return override.isEmpty ? nil : override }
        return alpha2(forICAO: code) ?? Self.organisations[code]
    }

    /// Whether `icaoCode` names a nationality only (ICAO 9303-3 §5: stateless persons, refugees, unspecified), never
    /// the state or organisation that issued a document.
    public static func isNationalityOnly(_ icaoCode: String) -> Bool {
        nationalityOnly.contains(normalised(icaoCode))
    }

    static let nationalityOnly: Set<String> = ["XXA", "XXB", "XXC", "XXX"]

    /// ICAO 9303-3 §5 codes beyond ISO 3166-1 that name a state's documents.
    static let icaoStates: [String: String] = [
        // Germany's single-letter code; the British nationality codes issued under the United Kingdom's CSCA.
        "D": "DE", "GBD": "GB", "GBN": "GB", "GBO": "GB", "GBP": "GB", "GBS": "GB",
        // ICAO specimen state.
        "UTO": "UT",
    ]

    /// Organisations and entities whose CSCAs name them with a code outside ISO 3166-1 alpha-2.
    static let organisations: [String: String] = [
        "UNO": "UN", "UNA": "UN", "UNK": "UN", "EUE": "EU", "RKS": "XK",
    ]

    /// ISO 3166-1: alpha-3 → alpha-2, every officially assigned code.
    static let iso: [String: String] = [
        "AFG": "AF", "ALA": "AX", "ALB": "AL", "DZA": "DZ", "ASM": "AS", "AND": "AD", "AGO": "AO", "AIA": "AI",
        "ATA": "AQ", "ATG": "AG", "ARG": "AR", "ARM": "AM", "ABW": "AW", "AUS": "AU", "AUT": "AT", "AZE": "AZ",
        "BHS": "BS", "BHR": "BH", "BGD": "BD", "BRB": "BB", "BLR": "BY", "BEL": "BE", "BLZ": "BZ", "BEN": "BJ",
        "BMU": "BM", "BTN": "BT", "BOL": "BO", "BES": "BQ", "BIH": "BA", "BWA": "BW", "BVT": "BV", "BRA": "BR",
        "IOT": "IO", "BRN": "BN", "BGR": "BG", "BFA": "BF", "BDI": "BI", "CPV": "CV", "KHM": "KH", "CMR": "CM",
        "CAN": "CA", "CYM": "KY", "CAF": "CF", "TCD": "TD", "CHL": "CL", "CHN": "CN", "CXR": "CX", "CCK": "CC",
        "COL": "CO", "COM": "KM", "COG": "CG", "COD": "CD", "COK": "CK", "CRI": "CR", "CIV": "CI", "HRV": "HR",
        "CUB": "CU", "CUW": "CW", "CYP": "CY", "CZE": "CZ", "DNK": "DK", "DJI": "DJ", "DMA": "DM", "DOM": "DO",
        "ECU": "EC", "EGY": "EG", "SLV": "SV", "GNQ": "GQ", "ERI": "ER", "EST": "EE", "SWZ": "SZ", "ETH": "ET",
        "FLK": "FK", "FRO": "FO", "FJI": "FJ", "FIN": "FI", "FRA": "FR", "GUF": "GF", "PYF": "PF", "ATF": "TF",
        "GAB": "GA", "GMB": "GM", "GEO": "GE", "DEU": "DE", "GHA": "GH", "GIB": "GI", "GRC": "GR", "GRL": "GL",
        "GRD": "GD", "GLP": "GP", "GUM": "GU", "GTM": "GT", "GGY": "GG", "GIN": "GN", "GNB": "GW", "GUY": "GY",
        "HTI": "HT", "HMD": "HM", "VAT": "VA", "HND": "HN", "HKG": "HK", "HUN": "HU", "ISL": "IS", "IND": "IN",
        "IDN": "ID", "IRN": "IR", "IRQ": "IQ", "IRL": "IE", "IMN": "IM", "ISR": "IL", "ITA": "IT", "JAM": "JM",
        "JPN": "JP", "JEY": "JE", "JOR": "JO", "KAZ": "KZ", "KEN": "KE", "KIR": "KI", "PRK": "KP", "KOR": "KR",
        "KWT": "KW", "KGZ": "KG", "LAO": "LA", "LVA": "LV", "LBN": "LB", "LSO": "LS", "LBR": "LR", "LBY": "LY",
        "LIE": "LI", "LTU": "LT", "LUX": "LU", "MAC": "MO", "MDG": "MG", "MWI": "MW", "MYS": "MY", "MDV": "MV",
        "MLI": "ML", "MLT": "MT", "MHL": "MH", "MTQ": "MQ", "MRT": "MR", "MUS": "MU", "MYT": "YT", "MEX": "MX",
        "FSM": "FM", "MDA": "MD", "MCO": "MC", "MNG": "MN", "MNE": "ME", "MSR": "MS", "MAR": "MA", "MOZ": "MZ",
        "MMR": "MM", "NAM": "NA", "NRU": "NR", "NPL": "NP", "NLD": "NL", "NCL": "NC", "NZL": "NZ", "NIC": "NI",
        "NER": "NE", "NGA": "NG", "NIU": "NU", "NFK": "NF", "MKD": "MK", "MNP": "MP", "NOR": "NO", "OMN": "OM",
        "PAK": "PK", "PLW": "PW", "PSE": "PS", "PAN": "PA", "PNG": "PG", "PRY": "PY", "PER": "PE", "PHL": "PH",
        "PCN": "PN", "POL": "PL", "PRT": "PT", "PRI": "PR", "QAT": "QA", "REU": "RE", "ROU": "RO", "RUS": "RU",
        "RWA": "RW", "BLM": "BL", "SHN": "SH", "KNA": "KN", "LCA": "LC", "MAF": "MF", "SPM": "PM", "VCT": "VC",
        "WSM": "WS", "SMR": "SM", "STP": "ST", "SAU": "SA", "SEN": "SN", "SRB": "RS", "SYC": "SC", "SLE": "SL",
        "SGP": "SG", "SXM": "SX", "SVK": "SK", "SVN": "SI", "SLB": "SB", "SOM": "SO", "ZAF": "ZA", "SGS": "GS",
        "SSD": "SS", "ESP": "ES", "LKA": "LK", "SDN": "SD", "SUR": "SR", "SJM": "SJ", "SWE": "SE", "CHE": "CH",
        "SYR": "SY", "TWN": "TW", "TJK": "TJ", "TZA": "TZ", "THA": "TH", "TLS": "TL", "TGO": "TG", "TKL": "TK",
        "TON": "TO", "TTO": "TT", "TUN": "TN", "TUR": "TR", "TKM": "TM", "TCA": "TC", "TUV": "TV", "UGA": "UG",
        "UKR": "UA", "ARE": "AE", "GBR": "GB", "USA": "US", "UMI": "UM", "URY": "UY", "UZB": "UZ", "VUT": "VU",
        "VEN": "VE", "VNM": "VN", "VGB": "VG", "VIR": "VI", "WLF": "WF", "ESH": "EH", "YEM": "YE", "ZMB": "ZM",
        "ZWE": "ZW",
    ]

    static let knownAlpha2 = Set(iso.values).union(icaoStates.values)
}
