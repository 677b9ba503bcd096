import Foundation
import MRTD
import OpenSSLKit

/// What a virtual eMRTD holds, before it is encoded into LDS files: the MRZ, the portrait(s) as
/// stored image files, and the optional DG11/DG12 fields.
public struct EMRTDPersonalisation: Sendable {
    public var mrz: MRZ
    /// Encoded portraits (JPEG or JPEG 2000 files), stored in DG2 exactly as given.
    public var portraits: [[UInt8]]
    public var dg11: DG11?
    public var dg12: DG12?
    /// DG7 (displayed signature), DG13 (issuer-defined), DG16 (persons to notify) when given.
    public var dg7: DG7?
    public var dg13: DG13?
    public var dg16: DG16?
    /// The 19794-5 image data type written into the portraits' headers; nil: the one the bytes have. Another value
    /// makes a header that disagrees with its image, as some issued documents have.
    public var portraitHeaderImageDataType: UInt8?
    public var extendedLength: Bool
    public var maxShortResponse: Int
    /// The largest data an extended READ BINARY returns.
    public var maxExtendedResponse = 65_000
    /// PACE offered in EF.CardAccess; `nil` for a BAC-only chip.
    public var pace: PACEConfiguration?
    /// `false` for a PACE-only chip.
    public var bacEnabled = true
    /// The document signer that signs EF.SOD; without one the card has no EF.SOD.
    public var documentSigner: TestPKI.Party?
    /// Who signs a PACE-CAM chip's EF.CardSecurity: the document signer when nil (a throwaway self-signed key when
    /// there is none either); another party for a forged card.
    public var cardSecuritySigner: TestPKI.Party?
    /// How EF.SOD is signed: issuer name order, BER, signing time.
    public var sodOptions = SODBuilder.Options()
    /// Failed protected commands answered in plain (session kept or closed); nil: protected.
    public var plainErrorStatus: PlainErrorStatus?
    /// EF.ATR/INFO content in the master file; nil: none.
    public var atrInfo: [UInt8]?
    /// A data group changed after signing (a forged card that passive authentication must catch).
    public var alteredAfterSigning: DataGroup?
    /// Active authentication: DG15 holds its published key (and DG14 the ECDSA hash).
    public var activeAuthentication: ActiveAuthenticationConfiguration?
    /// Chip authentication: DG14 holds its published key and protocol.
    public var chipAuthentication: ChipAuthenticationConfiguration?

    public init(
        mrz: MRZ, portraits: [[UInt8]], dg11: DG11? = nil, dg12: DG12? = nil, extendedLength: Bool = true,
        maxShortResponse: Int = 256
    ) {
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
            for portrait in portraits {
                var face = try FaceImage(encodedImage: portrait)
                if let type = portraitHeaderImageDataType { face.headerImageDataType = type }
                faces.append(face)
            }
            files[.dg2] = DG2(faces: faces).encoded
            groups.append(.dg2)
        }
        let optional: [(DataGroup, [UInt8]?)] = [
            (.dg7, dg7?.encoded), (.dg11, dg11?.encoded), (.dg12, dg12?.encoded),
            (.dg13, dg13?.encoded), (.dg16, dg16?.encoded),
        ]
        for case let (group, bytes?) in optional {
            files[group.fileID] = bytes
            groups.append(group)
        }
        try addAntiCloneFiles(&files, groups: &groups)
        files[.com] = EFCOM(dataGroups: groups).encoded
        return files
    }

    /// The files with EF.SOD signed over the data groups, then any forgery applied.
    public func signedFiles() throws(PersonalisationError) -> [FileID: [UInt8]] {
        var files: [FileID: [UInt8]]
        do {
            files = try self.files()
        } catch {
            throw .lds(error)
        }
        guard let signer = documentSigner else { return files }
        var groups: [DataGroup: [UInt8]] = [:]
        for (file, bytes) in files {
            if let group = DataGroup(fileID: file) { groups[group] = bytes }
        }
        do {
            var options = sodOptions
            if options.signingTime == nil { options.signingTime = Date() }
            files[.sod] = try SODBuilder.build(
                dataGroups: groups, signer: signer.certificate, key: signer.key,
                options: options)
        } catch {
            throw .signing(error)
        }
        if let altered = alteredAfterSigning, var bytes = files[altered.fileID], !bytes.isEmpty {
            bytes[bytes.count - 1] ^= 0x01
            files[altered.fileID] = bytes
        }
        return files
    }

    /// The card-side profile: BAC key material from the MRZ, and the files.
    public func makeProfile() throws(PersonalisationError) -> EMRTDProfile {
        EMRTDProfile(
            documentNumber: mrz.documentNumber, birthDate: mrz.birthDate, expiryDate: mrz.expiryDate,
            files: try signedFiles(), extendedLength: extendedLength, maxShortResponse: maxShortResponse,
            maxExtendedResponse: maxExtendedResponse,
            pace: try paceWithKeys(), bacEnabled: bacEnabled
        )
        .withAntiClone(activeAuthentication: activeAuthentication, chipAuthentication: chipAuthentication)
        .withTransport(plainErrorStatus: plainErrorStatus, atrInfo: atrInfo)
    }

    /// The PACE configuration, with PACE-CAM key material and EF.CardSecurity (signed by the document signer, or
    /// a throwaway self-signed key when the card has none) when CAM is asked for.
    private func paceWithKeys() throws(PersonalisationError) -> PACEConfiguration? {
        guard let pace, pace.chipAuthenticationMapping, pace.chipAuthentication == nil else { return pace }
        let signer: TestPKI.Party
        if let chosen = cardSecuritySigner ?? documentSigner {
            signer = chosen
        } else {
            do {
                signer = try TestPKI.makeCSCA(
                    country: "UT", name: "Virtual eMRTD CardSecurity signer",
                    validity: (Date(), Date().addingTimeInterval(365 * 86_400)))
            } catch {
                throw .signing(error)
            }
        }
        return try pace.withChipAuthenticationKey(signer: signer)
    }
}

/// Why a virtual card could not be personalised.
public enum PersonalisationError: Error, CustomStringConvertible {
    case lds(LDSError)
    case signing(OpenSSLError)

    public var description: String {
        switch self {
        case let .lds(error): return "cannot encode the card's files: \(error)"
        case let .signing(error): return "cannot sign EF.SOD: \(error)"
        }
    }
}

extension EMRTDProfile {
    func withTransport(plainErrorStatus: PlainErrorStatus?, atrInfo: [UInt8]?) -> EMRTDProfile {
        var profile = self
        profile.plainErrorStatus = plainErrorStatus
        profile.atrInfo = atrInfo
        return profile
    }
}
