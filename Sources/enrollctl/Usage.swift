/// `enrollctl --help`: every command and option (docs/enrollctl.1 says the same at more length).
let usage = """
    usage: enrollctl [--socket PATH] COMMAND [OPTIONS]

    commands:
      health [--json]          daemon status
      readers [--json]         readers and cards present
      watch [--json]           print reader and card events as they arrive (Ctrl-C to stop)
      scan IMAGE [--json]      the access key read from a photo of the card (MRZ or CAN): layout, lines,
                               check digits per field, ranked candidates with confidence
      read --reader NAME (--scan IMAGE | --can NNNNNN | --mrz "LINES" | --document-number X --birth-date YYMMDD
           --expiry-date YYMMDD) [--face-out FILE] [--json]
                               read the card-face data from the chip (PACE when the chip offers it, else BAC
                               with the MRZ); --face-out writes the portrait exactly as stored in DG2
      probe --reader NAME [--can NNNNNN | --mrz "LINES" | --document-number X ...] [--json]
                               ATR, extended length, EF.CardAccess SecurityInfos, whether the eMRTD application
                               is present and, with a key, which access protocol opens the chip
      enroll --reader NAME (--scan IMAGE | --mrz "LINES" | --document-number X --birth-date YYMMDD --expiry-date YYMMDD)
             [--photo FILE] [--frames DIR [--interval MS]] [--csr FILE] [--account ID | --upgrade] [--cert-out FILE]
             [--json]
                               a whole enrollment: read and authenticate the card, match the live photo,
                               pass the liveness step with a burst from DIR (the signing tier needs it by
                               default), create (or, with --account, upgrade) the account and issue the
                               certificate; without --csr a registration creates a basic account; --upgrade:
                               when the card's identity is enrolled, upgrade its account with the upgrade token
                               the refusal hands over (no account id needed)
      liveness challenge SESSION [--json]
                               a fresh liveness challenge: nonce, prompts with what to show, expiry
      liveness send SESSION --nonce HEX --frames DIR [--prompts P1,P2] [--interval MS] [--json]
      liveness run SESSION --frames DIR [--interval MS] [--json]
                               send a burst for the challenge (run: request one first): DIR holds the frames
                               (JPEG/PNG, in file-name order), or one subdirectory per prompt sequence named
                               like turn-left+look-up from which the challenge's is taken; frames are stamped
                               as they are taken, --interval ms apart (default 200)
      accounts show ID [--json]    an account's tier, status and certificates
      accounts activate ID --code-stdin | --code-file FILE [--json]
                               activate a pending-activation account with the code sent to its contact
                               (releases the certificate's hold)
      outbox list [--state queued|sending|sent|failed] [--limit N] [--json]
                               messages to holders' contacts: state, attempts, last error (never the
                               recipient or the text)
      outbox retry ID [--json] queue a failed message again
      verifiers add ID --name LEGAL-NAME --elements a,b --purpose TEXT --days N (--csr FILE | --certificate FILE)
                [--cert-out FILE] [--json]
                               register an approved verifier (admin): with --csr our CA issues its TLS client
                               certificate (written by --cert-out), with --certificate another CA's is registered
      verifiers list | show ID | suspend ID | revoke ID | approve ID [--reason R] [--json]
                               the verifier registry; a suspended or revoked verifier is refused at once
      certs list ID [--json]       the certificates of account ID
      certs revoke SERIAL --reason REASON
                               revoke (reasons: unspecified, key-compromise, affiliation-changed, superseded,
                               cessation-of-operation, privilege-withdrawn)
      certs renew --all | --issued-before TIME [--limit N] [--json]
                               re-certify active certificates' keys under the current CA key (admin):
                               --all: those the current CA key did not sign (after a CA rollover); the old
                               ones stay valid until they expire; a run repeated skips the keys already renewed
      accounts status ID       identity status and its history
      accounts cancel ID --reason R
                               cancel the identity (card cancelled, holder deceased): irreversible, revokes
                               every certificate; needs --role operator or admin
      accounts invalidate ID --reason R
                               mark the document invalid (reported lost); re-verification returns it to normal
      accounts holder-name ID --reader NAME (--mrz "LINES" | --document-number X ...) --reason R
                               accept a changed name (after marriage, say) from the holder's new document on
                               the reader: same identity, birth date and sex; the reason goes to the usage log;
                               needs --role operator or admin
      usage ID [--since ISO] [--until ISO] [--limit N] [--after SEQ] [--json]
                               the account's usage records (enrollment steps, certificates, devices, passcode,
                               status changes) with time, channel, actor and outcome
      audit verify [--heads FILE] [--json]
                               walk the usage records' keyed hash chain (and check it against the signed heads
                               in FILE, journal lines; - is standard input); exits 1 naming each edited,
                               inserted or deleted record and the first one that disagrees
      devices list ID | devices bind ID --device-id D --public-key FILE [--label L]
      devices unbind ID DEVICE [--passcode NNNN | --enrollment SESSION]
                               the account's device binding (binding a new device cancels the old one and
                               revokes its certificates); operators unbind without proof
      passcode status ID | passcode set ID --passcode NNNN [--current NNNN]
      passcode verify ID --passcode NNNN | passcode disable ID [--current NNNN]
                               the optional 4-digit service passcode
      crl [--out FILE]         the current CRL (PEM)
      trust list [--json]      trusted CSCA certificates (subject, validity, fingerprint) and CRLs
      trust import FILE [--states UTO,D]
                               add to the trust store and reload it: the CSCAs of the named issuing
                               states from a master list (its signer must chain to a trusted CSCA;
                               --states required), a CSCA certificate (within --states when given) or
                               a CRL (PEM or DER); prints what was added and what skipped, and why
      trust-list export [--out FILE]
                               sign a trust list (ETSI TS 119 612 XML) of this CA for other jurisdictions
      trust-list import FILE [--territory CC]
                               recognise another jurisdiction's list (its signer pinned in enrolld.conf)
      trust-list list [--json] | trust-list validate CERT-FILE [--json]
                               the imported lists; validate another jurisdiction's signing certificate
      face-compare REFERENCE PROBE [--json]
                               compare a portrait with a live photo: score, distance, decision, faces found

    --socket PATH defaults to $ENROLLD_SOCKET or /run/enrolld/api.sock.
    The daemon gives the caller a role (kiosk, operator, admin) from its uid and groups ([roles] in
    enrolld.conf; root is admin). --role ROLE acts in a lesser role than granted (X-Enrolld-Role);
    --channel ID names the kiosk or counter for the usage log (X-Enrolld-Channel; defaults:
    $ENROLLD_ROLE, $ENROLLD_CHANNEL). A kiosk reads or changes an account only for the holder present:
    --holder-session SESSION (a card-and-face session of the account completed in the last minutes) or
    --holder-passcode NNNN (the holder's service passcode).

    Secrets off the command line (ps shows it to every user): each option that carries an access key or a
    passcode (--mrz, --can, --document-number, --birth-date, --expiry-date, --passcode, --current,
    --holder-passcode) also comes as OPTION-file FILE (the value is the file's content, surrounding white
    space removed) and as OPTION-stdin (read from standard input; on a terminal it is asked for, without echo
    except for the MRZ). One option at most reads standard input. For example:
      enrollctl read --reader R --mrz-file mrz.txt
      printf '%s' "$CAN" | enrollctl read --reader R --can-stdin
      enrollctl passcode verify ID --passcode-stdin --holder-passcode-file /run/kiosk/holder.pin
    """
