import OpenSSLKit
import SmartCard

extension DocumentReader {
    /// Runs the anti-clone protocols after the files are read (ICAO 9303-11 §6): chip authentication when DG14
    /// offers it (secure messaging then continues with the new keys, and re-reading EF.COM under them is the
    /// chip's proof), then active authentication when DG15 is present. Failures are recorded in `result`, not
    /// thrown, so the verdict can name them; only card removal and transport errors are thrown.
    func authenticateChip(
        _ result: inout DocumentReadResult, secure: SecureMessagingChannel,
        counting: CountingCardChannel, strategy: ReadBinaryStrategy
    ) throws(MRTDError) {
        var channel = secure
        var sessionUsable = true
        if let dg14Bytes = result.files[.dg14] {
            do {
                let dg14 = try DG14(parsing: dg14Bytes)
                if ChipAuthentication.selectProtocol(in: dg14) == nil {
                    result.chipAuthentication = AntiCloneCheck(.notSupported, "DG14 offers no chip authentication")
                } else {
                    let outcome = try runChipAuthentication(
                        dg14: dg14, secure: secure, counting: counting,
                        strategy: strategy, expectedCOM: result.files[.com],
                        result: &result)
                    result.chipAuthentication = outcome.check
                    if let next = outcome.channel { channel = next }
                    sessionUsable = outcome.sessionUsable
                }
            } catch {
                // A card that left (or a reader that went away) during chip authentication ends the read.
                if let error = error as? MRTDError, Self.endsRead(error) { throw error }
                result.chipAuthentication = AntiCloneCheck(.failed, "DG14 cannot be used: \(error)")
            }
        } else {
            result.chipAuthentication = AntiCloneCheck(.notSupported, "the chip has no DG14")
        }
        guard let dg15Bytes = result.files[.dg15] else {
            result.activeAuthentication = AntiCloneCheck(.notSupported, "the chip has no DG15")
            return
        }
        guard sessionUsable else {
            result.activeAuthentication = AntiCloneCheck(.notChecked, "the secure messaging session ended")
            return
        }
        let dg15: DG15
        do {
            dg15 = try DG15(parsing: dg15Bytes)
        } catch {
            result.activeAuthentication = AntiCloneCheck(.failed, "DG15 cannot be used: \(error)")
            return
        }
        let info = result.files[.dg14].flatMap { try? DG14(parsing: $0) }?.activeAuthentication
        do {
            let challenge = try random(8)
            let detail = try ActiveAuthentication.authenticate(
                channel: channel, dg15: dg15, info: info,
                challenge: challenge)
            result.activeAuthentication = AntiCloneCheck(.passed, "AA " + detail)
        } catch {
            if Self.endsRead(error) { throw error }
            result.activeAuthentication = AntiCloneCheck(.failed, "active authentication failed: \(error)")
        }
    }

    private func runChipAuthentication(
        dg14: DG14, secure: SecureMessagingChannel, counting: CountingCardChannel,
        strategy: ReadBinaryStrategy, expectedCOM: [UInt8]?,
        result: inout DocumentReadResult
    )
        throws(MRTDError) -> (check: AntiCloneCheck, channel: SecureMessagingChannel?, sessionUsable: Bool)
    {
        let established: ChipAuthenticationResult
        do {
            established = try ChipAuthentication.authenticate(channel: secure, dg14: dg14)
        } catch {
            if Self.endsRead(error) { throw error }
            return (AntiCloneCheck(.failed, "chip authentication failed: \(error)"), nil, secure.session.isActive)
        }
        result.chipAuthenticationRun = ChipAuthenticationRun(established)
        let channel = SecureMessagingChannel(base: counting, session: established.session)
        do {
            let com = try strategy.readFile(.com, on: channel)
            guard com == expectedCOM else {
                return (
                    AntiCloneCheck(.failed, "\(established.description): EF.COM read under the new keys differs"),
                    channel, true
                )
            }
        } catch {
            if Self.endsRead(error) { throw error }
            return (
                AntiCloneCheck(
                    .failed,
                    "\(established.description): the chip did not continue under the "
                        + "chip authentication keys (\(error)): it does not hold the DG14 private key"),
                nil, false
            )
        }
        return (AntiCloneCheck(.passed, established.description), channel, true)
    }

    private static func endsRead(_ error: MRTDError) -> Bool {
        switch error {
        case .cardRemoved: return true
        case let .transport(cardError):
            switch cardError {
            case .cardRemoved, .noCard, .readerUnavailable, .cardReset, .noService: return true
            default: return false
            }
        default: return false
        }
    }
}
