/// The card-face data of a document, parsed from the files a `DocumentReader` returned
/// (ICAO 9303-10): EF.COM, DG1 (MRZ), DG2 (portraits), DG7 (displayed signature), DG11/DG12, DG13 (issuer-defined,
/// kept raw), DG16 (persons to notify) when present, EF.SOD kept raw for passive authentication.
public struct DocumentData: Sendable {
    public var com: EFCOM
    public var dg1: DG1
    public var dg2: DG2?
    public var dg11: DG11?
    public var dg12: DG12?
    public var dg7: DG7?
    public var dg13: DG13?
    public var dg16: DG16?
    /// The EF.SOD bytes as read, if the chip has one.
    public var sod: [UInt8]?

    /// Parses the files. DG1 and EF.COM are required; a malformed optional data group is an
    /// error too (a chip that serves broken files is not to be trusted).
    public init(files: [FileID: [UInt8]]) throws(LDSError) {
        guard let comBytes = files[.com] else { throw .missingField(file: "EF.COM", tag: 0x60) }
        guard let dg1Bytes = files[.dg1] else { throw .missingField(file: "DG1", tag: 0x61) }
        com = try EFCOM.parse(comBytes)
        dg1 = try DG1.parse(dg1Bytes)
        dg2 = try files[.dg2].map { bytes throws(LDSError) in try DG2.parse(bytes) }
        dg11 = try files[.dg11].map { bytes throws(LDSError) in try DG11.parse(bytes) }
        dg12 = try files[.dg12].map { bytes throws(LDSError) in try DG12.parse(bytes) }
        dg7 = try files[.dg7].map { bytes throws(LDSError) in try DG7.parse(bytes) }
        dg13 = try files[.dg13].map { bytes throws(LDSError) in try DG13.parse(bytes) }
        dg16 = try files[.dg16].map { bytes throws(LDSError) in try DG16.parse(bytes) }
        sod = files[.sod]
    }

    public var mrz: MRZ { dg1.mrz }

    /// The first portrait in DG2, the one used for the face match.
    public var portrait: FaceImage? { dg2?.faces.first }
}
