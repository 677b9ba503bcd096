import FuzzTargets
import XCTest

/// The hostile-chip harness is sound: honest exchanges read and verify, and what the chip or the line changes is
/// either refused or never reaches a genuine result.
final class ChipTargetTests: XCTestCase {
    func testEveryCardReadsGenuineWhenNothingIsChanged() throws {
        XCTAssertEqual(ChipSeeds.cardNames, ["bac", "pace-gm", "pace-im", "pace-cam", "pace-dh"])
        for index in ChipSeeds.cardNames.indices {
            for flags: UInt8 in [0x00, 0x0D, 0x80] {
                let outcome = try XCTUnwrap(ChipTargets.chip([UInt8(index), flags]))
                XCTAssertTrue(
                    outcome.read && outcome.genuine && !outcome.changed,
                    "\(ChipSeeds.cardNames[index]) flags \(flags): \(outcome)")
                XCTAssertGreaterThan(outcome.commands, 10)
            }
        }
    }

    func testAReplayedHonestExchangeReadsGenuine() throws {
        for index in ChipSeeds.cardNames.indices {
            let seed = ChipSeeds.honestExchange(card: index)
            let outcome = try XCTUnwrap(ChipTargets.chipScript(seed))
            XCTAssertTrue(outcome.read && outcome.genuine, "\(ChipSeeds.cardNames[index]): \(outcome)")
        }
    }

    func testAChipThatLiesAboutDG11UnderItsOwnKeysIsNotGenuine() throws {
        // DG11 replaced on the card (index 3 in `fileChoices`): the chip serves it under valid secure messaging, but
        // EF.SOD did not sign it.
        for index in ChipSeeds.cardNames.indices {
            let input =
                [UInt8(index), 0x00]
                + OrdinalChipScript.record(
                    ordinal: 0, kind: 12,
                    [
                        3, 0x6B, 0x02, 0x5F,
                        0x0E,
                    ])
            let outcome = try XCTUnwrap(ChipTargets.chip(input))
            XCTAssertTrue(outcome.changed)
            XCTAssertFalse(outcome.genuine, ChipSeeds.cardNames[index])
        }
    }

    func testTheLineFlippingOneBitOfASecureAnswerIsRefused() throws {
        // The 12th answer comes under secure messaging for every card; its MAC no longer checks.
        for index in ChipSeeds.cardNames.indices {
            let input = [UInt8(index), 0x00] + OrdinalChipScript.record(ordinal: 12, kind: 7, [0, 0x80])
            let outcome = try XCTUnwrap(ChipTargets.chip(input))
            XCTAssertTrue(outcome.changed)
            XCTAssertFalse(outcome.read, "\(ChipSeeds.cardNames[index]): \(outcome)")
        }
    }
}
