import Foundation
import MRTD
import OpenSSLKit
import VirtualCard
import XCTest

/// The genuineness policy is a pure function of typed facts (ICAO 9303-11 §5, §6): these tests hand it facts and
/// read its decision, no chip involved.
final class GenuinenessPolicyTests: XCTestCase {
    private static let groups: [DataGroup: [UInt8]] = [
        .dg1: [0x61, 0x07, 0x5F, 0x1F, 0x04, 0x50, 0x3C, 0x55, 0x54],
        .dg2: [0x75, 0x06, 0x7F, 0x61, 0x03, 0x02, 0x01, 0x01],
        .dg14: [0x6E, 0x03, 0x31, 0x01, 0x00],
    ]

    /// Passive authentication results of the same SOD (it lists DG1, DG2 and DG14): all read, all read under a
    /// tampered signature, DG14 withheld.
    private struct Results {
        var passed: PassiveAuthenticationResult
        var failed: PassiveAuthenticationResult
        var dg14Withheld: PassiveAuthenticationResult
    }

    private var results: Results!

    override func setUpWithError() throws {
        let pki = try TestPKI()
        let store = pki.trustStore()
        let sod = try pki.sod(dataGroups: Self.groups)
        let forged = try pki.forgedDocument(.tamperedSignature, dataGroups: Self.groups).sod
        var withheld = Self.groups
        withheld[.dg14] = nil
        // The stand-in DG1 does not parse, so the issuing state is given as DG1 would state it.
        func verify(_ sod: [UInt8], _ groups: [DataGroup: [UInt8]]) -> PassiveAuthenticationResult {
            PassiveAuthentication.verify(sodFile: sod, dataGroups: groups, trustStore: store, issuingState: "UTO")
        }
        results = Results(
            passed: verify(sod, Self.groups), failed: verify(forged, Self.groups),
            dg14Withheld: verify(sod, withheld))
    }

    private func facts(
        passive: PassiveAuthenticationResult?, chip: AntiCloneCheck? = nil,
        active: AntiCloneCheck? = nil, cam: AntiCloneCheck? = nil,
        files: Set<FileID> = [.com, .dg1, .dg2, .dg14, .sod]
    ) -> GenuinenessFacts {
        GenuinenessFacts(
            accessControl: .pace, accessDescription: "PACE-ECDH-GM-AES-128 brainpoolP256r1",
            passive: passive, chipAuthentication: chip, activeAuthentication: active, paceCAM: cam,
            filesRead: files)
    }

    private let notSupported = AntiCloneCheck(.notSupported, "absent")
    private let passed = AntiCloneCheck(.passed, "proved")
    private let failed = AntiCloneCheck(.failed, "wrong key")

    func testPassiveAuthenticationAndOnePassingAntiCloneProtocolMakeAGenuineChip() {
        let decision = GenuinenessPolicy().decide(
            facts(
                passive: results.passed, chip: passed,
                active: notSupported))
        XCTAssertTrue(decision.genuine, "\(decision.reasons)")
        XCTAssertEqual(decision.outcome(of: "access-control"), .passed)
        XCTAssertEqual(decision.outcome(of: "passive-authentication"), .passed)
        XCTAssertEqual(decision.outcome(of: "chip-authentication"), .passed)
        XCTAssertEqual(decision.outcome(of: "pace-cam"), .notSupported)
        XCTAssertEqual(decision.outcome(of: "issuingStateAnchored"), .passed)
        XCTAssertEqual(decision.reasons, [])
        XCTAssertNil(decision.outcome(of: "sha-1"), "SHA-256 throughout: no SHA-1 recorded")
    }

    func testFailedPassiveAuthenticationRefusesWhateverTheAntiCloneProtocolsSay() {
        let decision = GenuinenessPolicy().decide(facts(passive: results.failed, chip: passed, active: passed))
        XCTAssertFalse(decision.genuine)
        XCTAssertEqual(decision.outcome(of: "passive-authentication"), .failed)
        XCTAssertFalse(decision.reasons.isEmpty)
    }

    func testNoSODRefusesTheChip() {
        let decision = GenuinenessPolicy().decide(facts(passive: nil, chip: passed))
        XCTAssertFalse(decision.genuine)
        XCTAssertEqual(decision.reasons, ["the chip has no EF.SOD to prove its data"])
    }

    func testAnyFailedAntiCloneProtocolRefusesEvenWhenAnotherPassed() {
        let decision = GenuinenessPolicy().decide(facts(passive: results.passed, chip: passed, active: failed))
        XCTAssertFalse(decision.genuine)
        XCTAssertEqual(decision.reasons, ["active-authentication: wrong key"])
    }

    func testAChipHidingTheDG14ItsSODListsIsRefused() {
        let decision = GenuinenessPolicy().decide(
            facts(
                passive: results.dg14Withheld, chip: notSupported,
                active: notSupported, files: [.com, .dg1, .dg2, .sod]))
        XCTAssertFalse(decision.genuine)
        XCTAssertEqual(decision.outcome(of: "chip-authentication"), .failed)
        XCTAssertTrue(
            decision.reasons.contains { $0.contains("EF.SOD lists DG14 but the chip did not return it") },
            "\(decision.reasons)")
    }

    func testAChipWithoutAntiCloneIsAcceptedUnlessThePolicyRequiresIt() {
        let none = facts(passive: results.passed, chip: notSupported, active: notSupported)
        XCTAssertTrue(GenuinenessPolicy().decide(none).genuine)
        let strict = GenuinenessPolicy(requireAntiClone: true).decide(none)
        XCTAssertFalse(strict.genuine)
        XCTAssertTrue(strict.reasons.contains { $0.contains("require_anti_clone") }, "\(strict.reasons)")
    }

    func testOfferedProtocolsThatCouldNotBeVerifiedRefuseTheChip() {
        let unverified = AntiCloneCheck(.notChecked, "the secure messaging session ended")
        let decision = GenuinenessPolicy().decide(
            facts(
                passive: results.passed, chip: unverified,
                active: notSupported))
        XCTAssertFalse(decision.genuine)
        // With anti-clone switched off the same record only counts against require_anti_clone.
        XCTAssertTrue(
            GenuinenessPolicy(runAntiClone: false).decide(
                facts(
                    passive: results.passed,
                    chip: unverified,
                    active: notSupported)
            ).genuine)
    }

    func testPACECAMCountsOnlyWhenItsKeySourceWasVerified() {
        // CAM whose EF.CardSecurity was not verified proves nothing: with the policy requiring anti-clone, refused.
        let unverified = AntiCloneCheck(.notChecked, "EF.CardSecurity not verified")
        let strict = GenuinenessPolicy(requireAntiClone: true)
        XCTAssertFalse(
            strict.decide(
                facts(
                    passive: results.passed, chip: notSupported, active: notSupported,
                    cam: unverified)
            ).genuine)
        // A verified CAM is the chip's anti-clone proof on its own.
        let verified = strict.decide(
            facts(
                passive: results.passed, chip: notSupported, active: notSupported,
                cam: passed))
        XCTAssertTrue(verified.genuine, "\(verified.reasons)")
        XCTAssertEqual(verified.outcome(of: "pace-cam"), .passed)
    }

    func testAListedDataGroupRefusedByAnUnprotectedStatusWordIsWithheld() {
        var withheld = facts(
            passive: results.dg14Withheld, chip: notSupported, active: notSupported,
            files: [.com, .dg1, .dg2, .sod])
        withheld.unprotectedRefusals = [.dg14]
        let decision = GenuinenessPolicy().decide(withheld)
        XCTAssertFalse(decision.genuine)
        XCTAssertEqual(decision.outcome(of: "data-group-withheld"), .failed)
        // A file the SOD does not list may be absent, whatever answered.
        var unlisted = facts(passive: results.passed, chip: passed, active: notSupported)
        unlisted.unprotectedRefusals = [.dg12]
        XCTAssertTrue(GenuinenessPolicy().decide(unlisted).genuine)
    }

    func testPassiveAuthenticationOfFilesAloneNamesNoAccessControl() {
        let decision = GenuinenessPolicy().decide(
            GenuinenessFacts(
                accessControl: nil, passive: results.passed,
                filesRead: [.dg1, .dg2, .dg14, .sod]))
        XCTAssertNil(decision.outcome(of: "access-control"))
        XCTAssertEqual(decision.outcome(of: "passive-authentication"), .passed)
    }
    func testADocumentWhoseIssuingStateIsNotBoundToItsAnchorIsNotGenuine() throws {
        let pki = try TestPKI()
        let sod = try pki.sod(dataGroups: Self.groups)
        let unknown = PassiveAuthentication.verify(sodFile: sod, dataGroups: Self.groups, trustStore: pki.trustStore())
        XCTAssertTrue(unknown.passed, "passive authentication itself has nothing against it")
        XCTAssertEqual(unknown.issuingStateAnchored.status, .notChecked)
        let undecided = GenuinenessPolicy().decide(facts(passive: unknown, chip: passed))
        XCTAssertFalse(undecided.genuine, "without the issuing state the anchor is not bound to it")
        XCTAssertTrue(
            undecided.reasons.contains { $0.contains("could not be bound to its trust anchor") },
            "\(undecided.reasons)")

        let german = PassiveAuthentication.verify(
            sodFile: sod, dataGroups: Self.groups, trustStore: pki.trustStore(),
            issuingState: "D")
        XCTAssertFalse(german.passed)
        XCTAssertEqual(
            german.issuingStateAnchored.reason,
            "the document's issuing state D (DE) does not match its document signer's country UT")
        let refused = GenuinenessPolicy().decide(facts(passive: german, chip: passed))
        XCTAssertFalse(refused.genuine)
        XCTAssertEqual(refused.outcome(of: "issuingStateAnchored"), .failed)
    }

    func testEveryDataGroupEnrollmentUsesThatEFSODListsMustBeRead() throws {
        let pki = try TestPKI()
        var groups = Self.groups
        groups[.dg11] = [0x6B, 0x03, 0x5F, 0x10, 0x00]
        let sod = try pki.sod(dataGroups: groups)
        var read = groups
        read[.dg11] = nil
        let passive = PassiveAuthentication.verify(
            sodFile: sod, dataGroups: read, trustStore: pki.trustStore(),
            issuingState: "UTO")
        XCTAssertTrue(passive.passed, "the groups read all match")
        let decision = GenuinenessPolicy().decide(facts(passive: passive, chip: passed))
        XCTAssertFalse(decision.genuine)
        XCTAssertEqual(decision.withheldDataGroups, [.dg11])
        XCTAssertEqual(decision.outcome(of: "data-group-withheld"), .failed)
        XCTAssertTrue(
            decision.reasons.contains(
                "EF.SOD lists DG11 but the chip did not give it up to be read and "
                    + "hash-checked"), "\(decision.reasons)")

        // A group enrollment does not use (DG12) may be left unread.
        groups[.dg11] = nil
        groups[.dg12] = [0x6C, 0x03, 0x5F, 0x19, 0x00]
        read = groups
        read[.dg12] = nil
        let unused = PassiveAuthentication.verify(
            sodFile: try pki.sod(dataGroups: groups), dataGroups: read,
            trustStore: pki.trustStore(), issuingState: "UTO")
        XCTAssertTrue(GenuinenessPolicy().decide(facts(passive: unused, chip: passed)).genuine)
    }
}
