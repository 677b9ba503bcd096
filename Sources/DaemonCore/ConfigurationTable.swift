import FaceMatch
import Foundation
import IssuingStates
import MRTD

/// Every key of enrolld.conf, in the order `Packaging/enrolld.conf` lists them. Parsing, `enrolld --check-config`,
/// `enrolld --print-default-config` (which writes `Packaging/enrolld.conf`) and enrolld.conf(5) (generated from
/// that file) all come from here; `ConfigurationTableTests` fails when the shipped file or the page disagrees.
/// A new setting is one entry here plus one property of `Configuration` (its initial value is the default).
extension Configuration {
    public static let table: [ConfigurationSection] = [
        ConfigurationSection(
            "api",
            [
                .path("socket", \.socketPath, shorterThan: 108, "Unix socket of the HTTP/1.1 + JSON API."),
                .permissionBits(
                    "socket_mode", \.socketMode,
                    "Permission bits of the socket; callers need write access to connect."),
                .text(
                    "socket_group", \.socketGroup, expected: "a group name or number",
                    "Group owning the socket: put kiosk software and operators in it.",
                    details: "Unset: the daemon's own group."
                ).example("enrolld"),
                .integer(
                    "max_body_bytes", \.maxRequestBodyBytes, 1024...(256 * 1024 * 1024),
                    "Largest request body accepted (live photos, CSRs), in bytes."),
                .seconds(
                    "event_keepalive_seconds", \.eventKeepAliveSeconds, 1...3600,
                    "Seconds between keep-alive comments on /v1/events."),
                .integer(
                    "max_connections", \.maxConnections, 1...4096,
                    """
                    API connections served at once, event streams included; one more gets 503 "server busy, retry".
                    """),
                .seconds(
                    "keepalive_idle_seconds", \.keepAliveIdleSeconds, 0.1...3600,
                    "Seconds an idle persistent (keep-alive) API connection stays open."),
                .integer(
                    "reserved_connections", \.reservedConnections, 0...4095,
                    "Of max_connections, slots only operators and admins may take (fewer than max_connections).",
                    details: "Kiosks and other callers share the rest; one more of theirs gets 503 server-busy."),
                .integer(
                    "max_connections_per_uid", \.maxConnectionsPerUID, 1...4096,
                    "API connections one uid may hold at once; one more gets 429 too-many-connections."),
                .seconds(
                    "head_timeout_seconds", \.headTimeoutSeconds, 0.1...600,
                    "Seconds within which a request's whole head (request line and headers) must arrive.",
                    details: """
                        Counted from the connection's start (a later request on a persistent connection: from its \
                        first byte), however steadily bytes trickle in; a slower head gets 408 and the connection \
                        closes.
                        """),
                .integer(
                    "min_body_bytes_per_second", \.minBodyBytesPerSecond, 1...(1024 * 1024 * 1024),
                    unit: "bytes per second",
                    "Slowest average rate at which a request body may arrive.",
                    details: """
                        The body must be complete head_timeout_seconds + Content-Length / this rate after the head; \
                        a slower one gets 408 and the connection closes.
                        """),
                .seconds(
                    "send_timeout_seconds", \.sendTimeoutSeconds, 0.1...3600,
                    "Seconds one write may wait for a client that does not read; then the connection closes."),
                .integer(
                    "max_event_streams_per_uid", \.maxEventStreamsPerUID, 1...1024,
                    "Event streams (GET /v1/events) one uid may hold at once; one more gets 429."),
                .integer(
                    "event_queue_bytes", \.eventQueueBytes, 1024...(64 * 1024 * 1024), unit: "bytes",
                    "Bytes of events an event stream may have waiting; a slower reader loses the oldest.",
                    details: "Also at most 1000 events."),
            ]),
        ConfigurationSection(
            "roles",
            about: """
                What API callers may do, by the uid, primary gid (SO_PEERCRED) and supplementary groups \
                (SO_PEERGROUPS) of the connecting process. Roles nest (admin > operator > kiosk); a caller gets the \
                highest role any of its ids holds, and a caller in no role may only call /v1/health. The socket's mode \
                and group ([api]) decide who can connect at all. Names are resolved when the daemon starts.
                """,
            [
                .principals(
                    .kiosk,
                    "Kiosk software: cards, enrollments, and one account's data only with its holder's proof."),
                .principals(
                    .operator,
                    """
                    Counter staff: any account, revocation, cancelling or invalidating identities, the audit check.
                    """),
                .principals(
                    .admin, "The trust store (import, reload) and everything else.",
                    details: "Root (uid 0) by default. The daemon's own user is always admin."),
                .publicCallers(
                    "Callers in no role let in for the routes anyone may call (OCSP, the CRL, the CA certificate).",
                    details: """
                        The nginx front's user (e.g. user:www-data). Any other caller in no role is answered 403 \
                        no-role as it connects; these share [api] max_connections_per_uid like everyone else.
                        """),
            ]),
        ConfigurationSection(
            "daemon",
            [
                .path("state_directory", \.stateDirectory, "Database, keys and face models."),
                .choice(
                    "log_level", \.logLevel, "How much the daemon logs.",
                    details: "Logs never carry names or document numbers."),
            ]),
        ConfigurationSection(
            "readers",
            [
                .seconds(
                    "pcsc_retry_seconds", \.pcscRetrySeconds, 0.1...60,
                    "Seconds between attempts to reach pcscd while it is not running."),
                .seconds(
                    "read_timeout_seconds", \.readTimeoutSeconds, 0.5...600,
                    "Longest a card read may take before it fails as too slow (card-read-timeout)."),
                .choice(
                    "require_pace", \.accessPolicy.requirePACE,
                    "When BAC is refused, for card reads and enrollments alike (access-policy-refused).",
                    details: """
                        never: BAC whenever PACE cannot run. when-offered: BAC only for chips offering no PACE, in \
                        EF.CardAccess or in the signed DG14 (a hidden EF.CardAccess is caught). always: PACE chips only.
                        """),
                .integer(
                    "minimum_pace_security_bits", \.accessPolicy.minimumPACESecurityBits, 0...256, unit: "bits",
                    "Weakest PACE domain used, as its security strength (NIST SP 800-57).",
                    details: """
                        112 refuses the 1024-bit MODP group (80) and the 192-bit curves (96); 0 accepts every \
                        standardized domain.
                        """),
                .list(
                    "kiosk_readers", \.kioskReaders, of: "uid:N=READER NAME entries",
                    isValid: { Configuration.readerBinding($0) != nil },
                    "The readers each kiosk uid may use (read, probe, enroll); others get 403 reader-not-yours.",
                    details: """
                        One entry per reader, as GET /v1/readers names it; a kiosk uid with no entry may use none. \
                        Empty: every kiosk may use every reader. Operators and admins may use every reader.
                        """
                ).example("uid:2001=ACS ACR1252 1S CL Reader PICC 00 00, uid:2002=ACS ACR1252 1S CL Reader PICC 01 00"),
            ]),
        ConfigurationSection(
            "face",
            [
                .path(
                    "model_directory", \.faceModelDirectory,
                    """
                    dlib model files (shape_predictor_5_face_landmarks.dat, dlib_face_recognition_resnet_model_v1.dat), \
                    installed by scripts/install-models.sh.
                    """,
                    details: """
                        Unset: $ENROLLD_MODEL_DIR, else /var/lib/enrolld/models. The packaged service sets \
                        ENROLLD_MODEL_DIR=/usr/share/enrolld/models (package enrolld-face-models).
                        """),
                .decimal(
                    "threshold", \.faceThreshold, 0...1.5, unit: "distance", lowerBoundExcluded: true,
                    "Largest embedding distance that counts as the same person.",
                    details: "dlib's own figure is 0.6; 0.5 is stricter, for fewer false matches."),
                .integer(
                    "minimum_face_size", \.faceMinimumSize, 20...2000, unit: "pixels",
                    "Smallest face accepted, in pixels (width of the detected face box)."),
                .integer(
                    "workers", \.faceWorkers, 1...64,
                    "Face comparisons and liveness bursts that run at once, each with engines of its own.",
                    details: "One per core the daemon may use; each worker holds about 40 MiB of models."),
                .integer(
                    "queue", \.faceQueueLength, 0...1024,
                    "Face jobs that may wait for a worker, all callers together; one more gets 503 face-engine-busy."),
                .integer(
                    "jobs_per_caller", \.faceJobsPerCaller, 1...64,
                    "Face jobs one caller (uid) may have running or waiting; one more gets 503 face-engine-busy.",
                    details: "So one kiosk flooding the engine cannot hold every worker."),
                .seconds(
                    "queue_wait_seconds", \.faceQueueWaitSeconds, 0...120,
                    "Longest a face job waits for a worker before it is refused with 503 face-engine-busy."),
                .integer(
                    "probe_max_pixels", \.faceProbeMaxPixels, 100_000...100_000_000, unit: "pixels",
                    "Largest live photo accepted, in pixels, checked from the image header before decoding."),
                .integer(
                    "reference_max_pixels", \.faceReferenceMaxPixels, 100_000...100_000_000, unit: "pixels",
                    "Largest reference portrait accepted (POST /v1/faces/compare, the chip's DG2), in pixels.",
                    details: "DG2 portraits are well under a megapixel."),
                .integer(
                    "decoder_memory_mib", \.faceDecoderMemoryMiB, 16...4096, unit: "MiB",
                    "What decoding one image may allocate (pixels, progressive JPEG and JPEG 2000 buffers), in MiB.",
                    details: "Checked from the header; an image that would need more is refused as too large."),
            ]),
        ConfigurationSection(
            "liveness",
            about: """
                Presentation-attack detection: a random challenge (2 to 4 prompts, a nonce, a short expiry), a burst \
                of frames captured while the kiosk shows it, and checks that each report a value and a threshold. \
                A burst is live when every check not listed in report_only passes. Every photo and frame is also \
                checked against the chip portrait and against photos of other sessions (the replay cache).
                """,
            [
                .choice(
                    "required_for", \.livenessRequiredFor,
                    "Which completions need a passed liveness step first.",
                    details: """
                        signing: completions with a CSR (signing tier), the basic tier may skip it; all: also \
                        passcode resets; none: never (benches only).
                        """),
                .integer(
                    "max_attempts", \.livenessMaxAttempts, 1...10,
                    "Liveness challenges per enrollment session; each challenge is one attempt."),
                .seconds(
                    "challenge_seconds", \.livenessChallengeSeconds, 5...120,
                    "How long a challenge can be answered (its capture window)."),
                .integer("min_prompts", \.livenessMinPrompts, 2...4, "Fewest prompts a challenge asks for."),
                .integer(
                    "max_prompts", \.livenessMaxPrompts, 2...4, "Most prompts a challenge asks for.",
                    details: "Under min_prompts it counts as min_prompts."),
                .integer("min_frames", \.livenessMinFrames, 2...60, "Fewest frames a burst may have."),
                .integer(
                    "max_frames", \.livenessMaxFrames, 2...60, "Most frames a burst may have.",
                    details: "Under min_frames it counts as min_frames."),
                .integer(
                    "max_frame_bytes", \.livenessMaxFrameBytes, 1024...(64 << 20), unit: "bytes",
                    "Largest encoded frame."),
                .integer(
                    "max_burst_bytes", \.livenessMaxBurstBytes, 1024...(256 << 20), unit: "bytes",
                    "Largest burst, all frames together.",
                    details: "The burst route accepts a body of 4/3 of this (base64) plus 64 KiB."),
                .integer(
                    "frame_max_pixels", \.livenessFrameMaxPixels, 76_800...100_000_000, unit: "pixels",
                    "Largest frame, in pixels, checked from its header before decoding (1920x1080 by default)."),
                .seconds(
                    "clock_skew_seconds", \.livenessClockSkewSeconds, 0...30,
                    "Tolerance between the kiosk's capture clock and the daemon's."),
                .decimal(
                    "same_person_threshold", \.livenessSamePersonThreshold, 0...2, unit: "distance",
                    lowerBoundExcluded: true, "same-person: largest embedding distance between frames of a burst.",
                    details: "matches-portrait uses [face] threshold."),
                .decimal(
                    "turn_threshold", \.livenessTurnThreshold, 0.001...1, unit: "eye spans",
                    "prompts-followed: yaw change of a turn."),
                .decimal(
                    "look_up_threshold", \.livenessLookUpThreshold, 0.001...1, unit: "eye spans",
                    "prompts-followed: pitch change of looking up."),
                .decimal(
                    "closer_factor", \.livenessCloserFactor, 1.01...3,
                    "prompts-followed: growth of the eye span when coming closer."),
                .decimal(
                    "unrequested_factor", \.livenessUnrequestedFactor, 1...10,
                    "prompts-followed: an unrequested movement fails at this multiple of its threshold."),
                .decimal(
                    "depth_threshold", \.livenessDepthThreshold, 0...1, unit: "eye spans",
                    "depth: smallest parallax residual (a flat print moves as one plane)."),
                .decimal(
                    "duplicate_floor", \.livenessDuplicateFloor, 0...255, unit: "grey levels",
                    "distinct-frames: two face thumbnails closer than this are copies."),
                .decimal(
                    "duplicate_share", \.livenessDuplicateShare, 0...1,
                    "distinct-frames: largest share of frames that may have a copy in the burst."),
                .decimal(
                    "passive_threshold", \.livenessPassiveThreshold, 0...1,
                    "passive-score: smallest mean \"real\" probability of the MiniFASNet models."),
                .list(
                    "report_only", \.livenessReportOnly, of: "check names",
                    isValid: { LivenessCheck(rawValue: $0) != nil && $0 != LivenessCheck.challenge.rawValue },
                    "Checks that are computed and reported but do not decide.",
                    details: """
                        Empty: all decide. Names: single-face, same-person, matches-portrait, unlike-portrait, \
                        prompts-followed, depth, distinct-frames, not-replayed, passive-score (challenge always \
                        decides).
                        """
                ).example("passive-score"),
                .decimal(
                    "replay_floor", \.replayFloor, 0...1, unit: "distance",
                    "unlike-portrait and the replay check: embedding distance under which a photo is a copy.",
                    details: "Re-encodings of one photo sit at 0.03-0.05; two captures of a person further apart."),
                .integer(
                    "replay_cache_entries", \.replayCacheEntries, 0...1_000_000,
                    "Photos and frames remembered (digests and embeddings, in memory) to refuse their reuse.",
                    details: "0 turns the cache off; the chip-portrait check stays."),
                .decimal(
                    "replay_cache_hours", \.replayCacheHours, 1...8760, unit: "hours",
                    "How long the replay cache remembers a photo."),
            ]),
        ConfigurationSection(
            "trust",
            [
                .path(
                    "directory", \.trustDirectory, shown: \Configuration.resolvedTrustDirectory,
                    """
                    CSCA certificates (PEM or DER) and CRLs: passive authentication anchors documents here.
                    """, details: "Default: <state_directory>/trust. Reloaded on SIGHUP."),
                .list(
                    "accepted_states", \.acceptedStates, of: "ICAO issuing-state codes",
                    isValid: { IssuingStateCodes().anchorCountry(forICAO: $0) != nil },
                    "Issuing states whose documents enrollment accepts (state-not-accepted otherwise).",
                    details: "Empty: every state with a trusted CSCA. Card reads for display are not limited."
                ).example("UTO, D"),
                .list(
                    "legacy_sod_content_types", \.legacySODContentTypes, of: "dotted OIDs",
                    isValid: { PassiveAuthentication.knownLegacyContentTypes[$0] != nil },
                    "EF.SOD content types accepted besides id-icao-mrtd-security-ldsSecurityObject.",
                    details: "Only known legacy types: 1.2.840.113549.1.7.1 (id-data). Empty: none."
                ).example("1.2.840.113549.1.7.1"),
                .boolean(
                    "allow_sha1", \.allowSHA1,
                    "Accept SHA-1 in EF.SOD hashes, signatures and document signer certificates.",
                    details: """
                        Older documents still in circulation use it, and inspection-system conformance tests expect \
                        it; every use is recorded in the enrollment's evidence (check sha-1).
                        """),
                .integer(
                    "minimum_csca_rsa_bits", \.minimumKeySizes.cscaRSA, 1024...16384, unit: "bits",
                    "Smallest RSA key of a CSCA that anchors documents or is imported."),
                .integer(
                    "minimum_csca_ec_bits", \.minimumKeySizes.cscaEC, 160...521, unit: "bits",
                    "Smallest EC key (field size) of a CSCA that anchors documents or is imported."),
                .integer(
                    "minimum_dsc_rsa_bits", \.minimumKeySizes.documentSignerRSA, 1024...16384, unit: "bits",
                    "Smallest RSA key of a document signer."),
                .integer(
                    "minimum_dsc_ec_bits", \.minimumKeySizes.documentSignerEC, 160...521, unit: "bits",
                    "Smallest EC key (field size) of a document signer."),
                .list(
                    "state_anchor_countries", \.stateAnchorCountries, of: "CODE:CC entries",
                    isValid: { entry in
                        let parts = entry.split(separator: ":", maxSplits: 1)
                        return parts.count == 2 && (1...3).contains(parts[0].count) && parts[1].count == 2
                            && entry.allSatisfy { $0.isLetter || $0 == ":" }
                    },
                    "Extra issuing-state codes and the CSCA country (C=) their documents must chain to.",
                    details: """
                        Built in: every ISO 3166-1 code, D, GBD/GBN/GBO/GBP/GBS (GB), UNO/UNA/UNK (UN), EUE (EU), \
                        RKS (XK), UTO (UT). Nationality codes (XXA, XXB, XXC, XXX) never anchor a document.
                        """
                ).example("XOM:VA"),
            ]),
        ConfigurationSection(
            "identity",
            about: """
                Which field of a document is its holder's personal identity number. An account is keyed by its \
                identity, typed: STATE:PN:number for a personal number (every document of the holder with that number \
                reaches the one account), STATE:DOC:number for a document number (that document only). A personal \
                number never matches a document number.
                """,
            [
                .choice(
                    "personal_number", \.personalNumberSource,
                    "Where documents of states without a rule of their own carry the personal number.",
                    details: """
                        dg11: DG11's personal number (tag 5F10). td1-optional1, td1-optional2: DG11's, else the TD1 \
                        MRZ's first or second optional data field. none: documents are keyed by their number. TD1 \
                        optional data is never an identity unless a rule names it: many states put other numbers there.
                        """),
                .list(
                    "personal_number_by_state", \.personalNumberByState, of: "STATE:RULE entries",
                    isValid: { Configuration.personalNumberRule($0) != nil },
                    "Per issuing state (ICAO code), where its documents carry the personal number.",
                    details: "RULE as for personal_number. Empty: personal_number for every state."
                ).example("UTO:td1-optional1, D:dg11"),
            ]),
        ConfigurationSection(
            "authenticity",
            about: """
                A chip is genuine when access control and passive authentication pass and, where the chip offers \
                anti-clone protocols (chip authentication in DG14, active authentication with DG15), at least one \
                passes and none fails. A chip whose EF.SOD lists DG14/DG15 but that hides the file is refused. PACE-CAM \
                is reported but not counted until EF.CardSecurity's signature is verified.
                """,
            [
                .boolean(
                    "anti_clone", \.authenticityPolicy.runAntiClone,
                    "Run chip and active authentication during reads."),
                .boolean(
                    "require_anti_clone", \.authenticityPolicy.requireAntiClone,
                    "Refuse chips that offer no anti-clone protocol at all.",
                    details: "false accepts older documents on passive authentication alone, as ICAO 9303 allows."),
            ]),
        ConfigurationSection(
            "enrollment",
            [
                .boolean(
                    "require_genuine_document", \.requireGenuineDocument,
                    "Refuse documents that passive authentication does not prove genuine."),
                .boolean("refuse_expired_documents", \.refuseExpiredDocuments, "Refuse expired documents."),
                .integer("signing_minimum_age", \.signingMinimumAge, 14...99, "Minimum age for the signing tier."),
                .integer(
                    "max_photo_attempts", \.maxPhotoAttempts, 1...10, "Live-photo attempts per enrollment session."),
                .seconds(
                    "session_timeout_seconds", \.sessionTimeoutSeconds, 1...3600,
                    "Seconds before an unfinished session expires and its biometric data is wiped."),
                .integer(
                    "registration_minimum_age", \.registrationMinimumAge, 0...99,
                    "Below this age an account is registered only linked to a guardian's account.",
                    details: """
                        The guardian must be present: the guardian's card is read in the same session \
                        (POST /v1/enrollments/{id}/guardian).
                        """),
                .seconds(
                    "expiry_sweep_seconds", \.expirySweepSeconds, 1...86400,
                    "Seconds between sweeps that mark accounts whose document has expired.",
                    details: "Expiry is also evaluated on every access."),
                .choice(
                    "activation", \.activation,
                    "Whether the signing tier waits for a one-time code sent to the holder's registered contact.",
                    details: """
                        required: completing at the signing tier leaves the account pending-activation, its \
                        certificate on hold (certificateHold on the CRL and in OCSP) until the holder enters the code \
                        (POST /v1/accounts/{id}/activate); an expired code revokes it and restores the previous tier. \
                        Applies once a transport is configured ([outbox] smtp_host or sms_gateway_url); then a \
                        signing completion needs an e-mail or phone contact of one. The basic tier has no \
                        certificate and needs no activation. off: the signing tier is usable at once.
                        """),
                .integer(
                    "activation_code_digits", \.activationCodeDigits, 6...8,
                    "Digits of an activation or passcode-reset code (random, single use, kept as a keyed hash)."),
                .seconds(
                    "activation_code_seconds", \.activationCodeSeconds, 60...86400,
                    "Seconds an activation or passcode-reset code can be entered."),
                .integer(
                    "activation_max_attempts", \.activationMaxAttempts, 1...10,
                    "Wrong entries of one code before it is spent (an activation then ends as if expired).",
                    details: "Wrong codes also count against the kiosk's passcode budget ([passcode] kiosk_budget)."),
                .choice(
                    "message_language", \.messageLanguage,
                    "Language of messages to a contact without a language field (en, zh-hant, vi, pt)."),
            ]),
        ConfigurationSection(
            "passcode",
            about: """
                The optional 4-digit service passcode (scrypt, per-account salt, constant-time comparison). A forgotten \
                or locked passcode is reset by re-verifying with card and face (enrollment purpose passcode-reset). \
                With the defaults a guesser makes at most 20 wrong entries per account, ever, until such a reset.
                """,
            [
                .boolean("enabled", \.passcodeEnabled, "Offer the service passcode."),
                .integer(
                    "max_attempts", \.passcodeMaxAttempts, 1...20,
                    "Consecutive wrong entries before the passcode locks."),
                .seconds(
                    "lockout_seconds", \.passcodeLockoutSeconds, 1...(7 * 86400),
                    "How long the first lock lasts; each further one twice as long, until a correct entry.",
                    details: "Staff are told when it unlocks; kiosks only that the holder proof failed."),
                .integer(
                    "max_total_failures", \.passcodeMaxTotalFailures, 1...1000,
                    "Wrong entries in total that lock the passcode for good (a correct entry does not clear them).",
                    details: "Only a card-and-face re-verification (purpose passcode-reset) clears a permanent lock."),
                .integer(
                    "kiosk_budget", \.passcodeKioskBudget, 1...100_000,
                    "Failed passcode entries one kiosk uid may make across all accounts per kiosk_budget_seconds.",
                    details: """
                        Then the kiosk may enter no passcode until the window ends: a usage record \
                        (passcode-entries-exhausted), a log line and enrolld_passcode_kiosk_lockouts_total say so.
                        """),
                .seconds(
                    "kiosk_budget_seconds", \.passcodeKioskBudgetSeconds, 60...(30 * 86400),
                    "The window of kiosk_budget, from a kiosk's first failed entry."),
            ]),
        ConfigurationSection(
            "audit",
            about: """
                The usage chain is keyed (HMAC-SHA-256 under <state_directory>/keys/usage-chain.key, not in the \
                database). Each daemon also signs the chain's head with its own key (keys/audit-head.key, ECDSA P-256; \
                its public key is keys/audit-head.pub) and logs the signed head (a line with "enrolld-audit-head v1"); \
                enrollctl audit verify --heads FILE checks the chain against such lines.
                """,
            [
                .seconds(
                    "head_interval_seconds", \.auditHeadIntervalSeconds, 1...86400,
                    "Seconds between signed heads while the chain grows (an unchanged chain is signed hourly)."),
                .path(
                    "head_keys_directory", \.auditHeadKeysDirectory,
                    shown: \Configuration.resolvedAuditHeadKeysDirectory,
                    "Public keys (audit-head.pub of the fleet's other hosts, *.pub or *.pem) whose signed heads verify.",
                    details: "Default: <state_directory>/keys/audit-heads. This daemon's own key is always trusted."),
                .boolean(
                    "syslog", \.auditSyslog,
                    "Also send each signed head to syslog(3) (facility authpriv), for a syslog daemon to forward.",
                    details: "The journal gets every head in any case; forward to a remote host with rsyslog."),
            ]),
        ConfigurationSection(
            "tiers",
            about: """
                Display names of the two account tiers, e.g. "iAM Smart" / "iAM Smart+" or "Level 1" / "Level 2".
                """,
            [
                .text("basic_name", \.basicTierName, expected: "a name", "Display name of the basic tier."),
                .text("signing_name", \.signingTierName, expected: "a name", "Display name of the signing tier."),
            ]),
        ConfigurationSection(
            "ca",
            [
                .path(
                    "directory", \.caDirectory, shown: \Configuration.resolvedCADirectory,
                    "The issuing key (encrypted at rest) and certificate, created by `enrolld ca init`.",
                    details: "Default: <state_directory>/ca."),
                .credentialName(
                    "passphrase_credential", \.caPassphraseCredential,
                    """
                    The systemd credential that holds the CA key's passphrase, read from \
                    $CREDENTIALS_DIRECTORY/NAME instead of ca-passphrase.key beside the key.
                    """,
                    details: """
                        Unset: ca-passphrase.key. Set it with LoadCredentialEncrypted=NAME:... in enrolld.service \
                        (commented there; README: systemd-creds encrypt).
                        """
                ).example("ca-passphrase"),
                .integer(
                    "validity_years", \.certificateValidityYears, 1...10, unit: "years",
                    "Validity of signing certificates in years; never past the document's expiry."),
                .list(
                    "certificate_policies", \.certificatePolicies, of: "dotted OIDs",
                    isValid: { $0.allSatisfy { $0.isNumber || $0 == "." } },
                    "Policy OIDs written into every certificate.",
                    details: "Empty: none."
                ).example("1.3.6.1.4.1.99999.1.1"),
                .url(
                    "crl_distribution_point", \.crlDistributionPoint, "URL of the CRL written into every certificate.",
                    details: "Unset: none."
                ).example("http://ca.example/enrolld.crl"),
                .url(
                    "ocsp_url", \.ocspURL, "OCSP responder URL written into every certificate.",
                    details: "Unset: none. Packaging/enrolld-nginx.conf publishes the responder at /ocsp."
                ).example("http://ca.example/ocsp"),
                .url(
                    "ca_issuers_url", \.caIssuersURL,
                    "URL of the CA certificate (DER) written into every certificate (authorityInfoAccess caIssuers).",
                    details: "Unset: none. Packaging/enrolld-nginx.conf publishes it at /ca.crt."
                ).example("http://ca.example/ca.crt"),
            ]),
        ConfigurationSection(
            "ocsp",
            about: """
                The OCSP responder (RFC 6960, lightweight profile RFC 5019) on POST /v1/ocsp and GET /v1/ocsp/{request}: \
                responses signed by a delegated responder certificate, pre-produced and cached per certificate, \
                re-signed at once when a status changes and at half their validity.
                """,
            [
                .seconds(
                    "response_validity_seconds", \.ocspResponseValiditySeconds, 60...864_000,
                    "nextUpdate - thisUpdate of every response; responses are re-signed at half of it."),
                .seconds(
                    "signer_validity_seconds", \.ocspSignerValiditySeconds, 7200...(366 * 86_400),
                    "Validity of the delegated responder certificate (rolled at half of it).",
                    details: "At least twice the response validity."),
                .integer(
                    "cache_capacity", \.ocspCacheCapacity, 64...10_000_000,
                    "About the most cached responses (some 700 bytes each)."),
                .integer(
                    "fresh_signatures", \.ocspFreshSignatures, 1...256,
                    "Responses signed for requests (nonces, cache misses) at once; beyond it: cached or tryLater."),
                .seconds(
                    "store_poll_seconds", \.statusPollSeconds, 0.5...3600,
                    """
                    Seconds between reads of the store for revocations another daemon committed (a fleet on \
                    PostgreSQL): a stale good answer or CRL lasts at most about this long.
                    """),
            ]),
        ConfigurationSection(
            "crl",
            [
                .seconds(
                    "validity_seconds", \.crlValiditySeconds, 300...(31 * 86_400),
                    "nextUpdate - thisUpdate of the CRL; it is signed again at half of it and on every revocation.")
            ]),
        ConfigurationSection(
            "trust_list",
            about: """
                Mutual recognition: the ETSI TS 119 612 trust list of our signing CA (enrollctl trust-list export, \
                XML-DSig through libxmlsec1) and other jurisdictions' lists (enrollctl trust-list import), against \
                which POST /v1/certificates/validate checks their signing certificates.
                """,
            [
                ConfigurationKey(
                    "territory", .text("an ISO 3166-1 alpha-2 code such as HK"),
                    "SchemeTerritory of the list we export.", details: "Unset: export is refused until it is set.",
                    assign: { configuration, text in
                        guard text.isEmpty || (text.count == 2 && text.allSatisfy { $0.isASCII && $0.isUppercase })
                        else { return false }
                        configuration.trustListTerritory = text.isEmpty ? nil : text
                        return true
                    }, written: { $0.trustListTerritory ?? "" }
                ).example("HK"),
                .text(
                    "scheme_operator", \.trustListOperator, expected: "a name",
                    "Name of the scheme operator (and of the trust service provider) in the exported list.",
                    details: "Unset: the CA certificate's organisation, else its common name."
                ).example("Digital Policy Office"),
                .text(
                    "postal_address", \.trustListPostalAddress, expected: "street; locality; postal code; country",
                    "The operator's postal address, parts separated by ';'."
                ).example("1 Trust Road; Hong Kong; 000; Hong Kong SAR"),
                ConfigurationKey(
                    "electronic_address", .text("a mailto:, https: or http: URI"),
                    "The operator's electronic address in the exported list.",
                    details: "Unset: the information URI.",
                    assign: { configuration, text in
                        let schemes = ["mailto:", "https://", "http://"]
                        guard text.isEmpty || (schemes.contains { text.hasPrefix($0) } && !text.contains(" "))
                        else { return false }
                        configuration.trustListElectronicAddress = text.isEmpty ? nil : text
                        return true
                    }, written: { $0.trustListElectronicAddress ?? "" }
                ).example("mailto:pki@ca.example"),
                .url(
                    "information_uri", \.trustListInformationURI, "Where the scheme and its rules are described."
                ).example("https://ca.example/scheme"),
                .url(
                    "distribution_point", \.trustListDistributionPoint, "Where the exported list is published."
                ).example("https://ca.example/trust-list.xml"),
                .integer(
                    "validity_days", \.trustListValidityDays, 1...183, unit: "days",
                    "NextUpdate of an exported list, in days after its issue (TS 119 612: at most six months)."),
                .path(
                    "directory", \.trustListDirectory, shown: \Configuration.resolvedTrustListDirectory,
                    "Imported trust lists, as received (verified again at every start).",
                    details: "Default: <state_directory>/trust-lists."),
                .list(
                    "pinned_signers", \.trustListSigners, of: "absolute paths of PEM files",
                    isValid: { $0.hasPrefix("/") },
                    """
                    The other jurisdictions' trust list signer certificates, or the CAs that issue them \
                    (id-tsl-kp-tslSigning), obtained out of band: a list imports only when one of them signed it.
                    """,
                    details: "Empty: no list can be imported."
                ).example("/etc/enrolld/trust-list-signers/macao.pem"),
                .list(
                    "allowed_fetch_hosts", \.statusFetchHosts, of: "host names or addresses",
                    isValid: { !$0.contains("/") && !$0.contains(" ") },
                    """
                    Hosts the validator may fetch foreign OCSP responses and CRLs from (plain HTTP, bounded, no \
                    redirects).
                    """,
                    details: "Empty: any host a validated certificate or its service names."
                ).example("ocsp.id.gov.mo, crl.id.gov.mo"),
            ]),
        ConfigurationSection(
            "store",
            [
                .choice(
                    "backend", \.storeBackend, "Where accounts, certificates and the usage log live.",
                    details: """
                        sqlite: embedded, <state_directory>/enrolld.db, one host. postgresql: one database shared by a fleet \
                        of kiosks and counters (README, Deployment); needs conninfo.
                        """),
                .text(
                    "conninfo", \.storeConninfo, expected: "a libpq connection string or postgresql:// URL",
                    "PostgreSQL: libpq connection string or URL, without the password.",
                    details: """
                        Several hosts with target_session_attrs=read-write follow a failover to the new primary.
                        """
                ).example("postgresql://enrolld@db1.example,db2.example/enrolld?target_session_attrs=read-write"),
                .path(
                    "password_file", \.storePasswordFile,
                    "File holding the PostgreSQL password (mode 0600, service user, one line), read at start."
                )
                .example("/etc/enrolld/pg.pass"),
                .choice(
                    "sslmode", \.storeSSLMode, ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
                    "TLS to the server, passed to libpq.",
                    details: """
                        Unset: libpq's default (prefer, which falls back to plain text). A host that is not this \
                        machine is refused at start unless this is verify-full (or verify-ca by explicit choice).
                        """
                ).example("verify-full"),
                .path(
                    "sslrootcert", \.storeSSLRootCert,
                    "CA certificate(s) the PostgreSQL server's certificate must chain to."
                )
                .example("/etc/enrolld/pg-ca.pem"),
                .path(
                    "sslcert", \.storeSSLCert,
                    "TLS client certificate, when the server authenticates clients by certificate."
                )
                .example("/etc/enrolld/pg-client.pem"),
                .path("sslkey", \.storeSSLKey, "The client certificate's private key (mode 0600).")
                    .example("/etc/enrolld/pg-client.key"),
                .integer("pool_size", \.storePoolSize, 1...64, "PostgreSQL connections per daemon."),
            ]),
        ConfigurationSection(
            "outbox",
            about: """
                Messages to holders' contacts (activation and passcode-reset codes) are written to the store in the \
                transaction that needs them and delivered by a worker: retried with exponential backoff, marked sent \
                once, failed after max_attempts and kept (enrollctl outbox list, enrollctl outbox retry).
                """,
            [
                .text(
                    "smtp_host", \.smtpHost, expected: "a host name or address",
                    "SMTP relay for e-mail; unset: no e-mail transport."
                ).example("smtp.example.org"),
                .integer("smtp_port", \.smtpPort, 1...65535, "The relay's port (587: submission with STARTTLS)."),
                .choice(
                    "smtp_security", \.smtpSecurity, "STARTTLS required (starttls) or plain text (none).",
                    details: """
                        starttls: the relay's certificate is verified (system trust store or smtp_trust_file) and \
                        matched to smtp_host. none: only for a relay on this machine; codes would cross the network \
                        in clear otherwise.
                        """),
                .text("smtp_username", \.smtpUsername, expected: "a user name", "SMTP AUTH user (PLAIN or LOGIN).")
                    .example("enrolld"),
                .path(
                    "smtp_password_file", \.smtpPasswordFile,
                    "File holding the SMTP AUTH password (mode 0600, one line), read at start."
                ).example("/etc/enrolld/smtp.pass"),
                .text("smtp_from", \.smtpFrom, expected: "an e-mail address", "Sender of the messages."),
                .path(
                    "smtp_trust_file", \.smtpTrustFile,
                    "CA certificate(s) the relay's certificate must chain to instead of the system's."
                ).example("/etc/enrolld/smtp-ca.pem"),
                .url(
                    "sms_gateway_url", \.smsGatewayURL,
                    "HTTP(S) URL SMS are POSTed to as JSON {to, text, id}; unset: no SMS transport."
                ).example("https://sms.example.org/v1/messages"),
                .path(
                    "sms_token_file", \.smsTokenFile,
                    "File holding the gateway's bearer token (mode 0600, one line), read at start."
                ).example("/etc/enrolld/sms.token"),
                .integer(
                    "max_attempts", \.outboxMaxAttempts, 1...100,
                    "Delivery attempts of a message before it is marked failed."),
                .seconds(
                    "retry_seconds", \.outboxRetrySeconds, 1...3600,
                    "Wait before the second attempt; each later one waits twice as long (at most an hour)."),
                .path(
                    "templates_directory", \.messageTemplatesDirectory,
                    "Message templates, one file per language and template (LANG/TEMPLATE.txt)."),
            ]),
        ConfigurationSection(
            "verifier",
            about: """
                Data release by consent: approved verifiers (enrollctl verifiers) ask, over a TLS 1.3 listener with \
                client certificates, for data elements a holder's presentation QR code allows; the holder consents; \
                the release is CMS signed and encrypted to the verifier. The listener serves only the verifier routes.
                """,
            [
                .boolean(
                    "enabled", \.verifierListenerEnabled, "Open the verifiers' TLS listener.",
                    details: "Off: presentations still open, but no verifier can reach the daemon."),
                .text(
                    "address", \.verifierAddress, expected: "an IPv4 or IPv6 address",
                    "Address the verifiers' listener binds."),
                .integer(
                    "port", \.verifierPort, 0...65535,
                    "TCP port of the verifiers' listener (0: any free port, for tests)."),
                .path(
                    "certificate_file", \.verifierCertificateFile,
                    "The listener's TLS server certificate (PEM, its chain after it).",
                    details: "Required when enabled."
                ).example("/etc/enrolld/verifier-tls.pem"),
                .path(
                    "key_file", \.verifierKeyFile, "The listener's TLS private key (PEM, mode 0600).",
                    details: "Required when enabled."
                ).example("/etc/enrolld/verifier-tls.key"),
                .path(
                    "client_ca_file", \.verifierClientCAFile,
                    "CA certificates (PEM) that verifiers' client certificates must chain to.",
                    details: """
                        Unset: this daemon's CA certificate (verifiers whose certificate our CA issued). A verifier \
                        with another CA's certificate needs that CA here, and its certificate registered.
                        """
                ).example("/etc/enrolld/verifier-cas.pem"),
                .seconds(
                    "token_seconds", \.verifierTokenSeconds, 10...600,
                    "Lifetime of a presentation QR token; the holder's app refreshes it at half of that."),
                .integer(
                    "max_connections", \.verifierMaxConnections, 1...1024,
                    "Verifier connections served at once; one more is closed before its handshake."),
                .seconds(
                    "timeout_seconds", \.verifierTimeoutSeconds, 0.5...120,
                    "Seconds a verifier connection may take for its handshake and one request."),
            ]),
    ]

    /// Every key of `table`, in file order.
    public static let allKeys: [ConfigurationKey] = table.flatMap(\.keys)

    /// Every key as `section.key` with its one-line description.
    public static var keys: [(key: String, help: String)] { allKeys.map { ($0.key, $0.summary) } }

    /// The key `section.name`, if there is one.
    public static func key(_ section: String, _ name: String) -> ConfigurationKey? {
        allKeys.first { $0.section == section && $0.name == name }
    }
}
