import MRTD

/// What a virtual eMRTD holds, before it is encoded into LDS files: the MRZ, the portrait(s) as
/// stored image files, and the optional DG11/DG12 fields.
public struct EMRTDPersonalisation: Sendable {
    public var mrz: MRZ
    /// Encoded portraits (JPEG or JPEG 2000 files), stored in DG2 exactly as given.
    public var portraits: [[UInt8]]
    public var dg11: DG11?
    public var dg12: DG12?
    public var extendedLength: Bool
    public var maxShortResponse: Int
    /// PACE offered in EF.CardAccess; `nil` for a BAC-only chip.
    public var pace: PACEConfiguration?
    /// `false` for a PACE-only chip.
    public var bacEnabled = true

    public init(mrz: MRZ, portraits: [[UInt8]], dg11: DG11? = nil, dg12: DG12? = nil, extendedLength: Bool = true,
                maxShortResponse: Int = 256) {
        self.mrz = mrz
        self.portraits = portraits
        self.dg11 = dg11
        self.dg12 = dg12
        self.extendedLength = extendedLength
        self.maxShortResponse = maxShortResponse
    }

    /// The LDS files: EF.COM listing the data groups, DG1, DG2, and DG11/DG12 when given.
    public func files() throws(LDSError) -> [FileID: [UInt8]] {
        var files: [FileID: [UInt8]] = [:]
        var groups: [DataGroup] = [.dg1]
        files[.dg1] = DG1(mrz: mrz).encoded
        if !portraits.isEmpty {
            var faces: [FaceImage] = []
            for portrait in portraits { faces.append(try FaceImage(encodedImage: portrait)) }
            files[.dg2] = DG2(faces: faces).encoded
            groups.append(.dg2)
        }
        if let dg11 {
            files[.dg11] = dg11.encoded
            groups.append(.dg11)
        }
        if let dg12 {
            files[.dg12] = dg12.encoded
            groups.append(.dg12)
        }
        files[.com] = EFCOM(dataGroups: groups).encoded
        return files
    }

    /// The card-side profile: BAC key material from the MRZ, and the files.
    public func makeProfile() throws(LDSError) -> EMRTDProfile {
        EMRTDProfile(documentNumber: mrz.documentNumber, birthDate: mrz.birthDate, expiryDate: mrz.expiryDate,
                     files: try files(), extendedLength: extendedLength, maxShortResponse: maxShortResponse,
                     pace: pace, bacEnabled: bacEnabled)
    }
}
