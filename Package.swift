// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "enrolld",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "enrolld", targets: ["enrolld"]),
        .executable(name: "enrollctl", targets: ["enrollctl"]),
        .executable(name: "enroll-vcard", targets: ["enroll-vcard"]),
        .executable(name: "enroll-bench", targets: ["enroll-bench"]),
        .executable(name: "enroll-kiosk", targets: ["enroll-kiosk"]),
    ],
    targets: [
        // C bindings: Debian system libraries behind module maps and shim headers.
        .systemLibrary(
            name: "CPCSCLite", path: "Sources/CPCSCLite", pkgConfig: "libpcsclite",
            providers: [.apt(["libpcsclite-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // Presentation QR codes, drawn by the daemon (enroll-verifier reads them with Debian's zbarimg).
        .systemLibrary(name: "CQRencode", path: "Sources/CQRencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CSystem", path: "Sources/CSystem"),
        .target(
            name: "CFaceEngine",
            path: "Sources/CFaceEngine",
            cxxSettings: [
                .unsafeFlags(["-std=c++17", "-O2", "-I/usr/include/openjpeg-2.5"])
            ],
            linkerSettings: [
                .linkedLibrary("dlib"), .linkedLibrary("openjp2"), .linkedLibrary("jpeg"),
                .linkedLibrary("png"), .linkedLibrary("blas"), .linkedLibrary("lapack"),
                .linkedLibrary("stdc++"),
            ]
        ),
        // Card scanning (MRZ and CAN from a photo) over OpenCV, Tesseract and FreeType (the OCR-B glyphs).
        .target(
            name: "CCardScan",
            path: "Sources/CCardScan",
            cxxSettings: [
                .unsafeFlags(["-std=c++17", "-O2", "-I/usr/include/opencv4", "-I/usr/include/freetype2"])
            ],
            linkerSettings: [
                .linkedLibrary("opencv_calib3d"), .linkedLibrary("opencv_imgproc"), .linkedLibrary("opencv_core"),
                .linkedLibrary("tesseract"), .linkedLibrary("freetype"), .linkedLibrary("stdc++"),
            ]
        ),

        // OpenCV 4.6 (dnn, imgproc, video) for liveness: MiniFASNet scores, point tracking, evaluation warps.
        .target(
            name: "CLivenessEngine",
            path: "Sources/CLivenessEngine",
            cxxSettings: [
                .unsafeFlags(["-std=c++17", "-O2", "-I/usr/include/opencv4"])
            ],
            linkerSettings: [
                .linkedLibrary("opencv_dnn"), .linkedLibrary("opencv_video"), .linkedLibrary("opencv_imgproc"),
                .linkedLibrary("opencv_core"), .linkedLibrary("stdc++"),
            ]
        ),

        // XML-DSig of trust lists: libxmlsec1 (OpenSSL engine) and libxml2 behind a plain C header.
        .target(
            name: "CXMLSecurity",
            path: "Sources/CXMLSecurity",
            cSettings: [
                .unsafeFlags(["-I/usr/include/xmlsec1", "-I/usr/include/libxml2"]),
                // As `pkg-config --cflags xmlsec1-openssl` says: they change the library's types (xmlSecSize).
                .define("__XMLSEC_FUNCTION__", to: "__func__"), .define("XMLSEC_NO_SIZE_T"),
                .define("XMLSEC_OPENSSL3_ENGINES", to: "1"), .define("XMLSEC_NO_GOST", to: "1"),
                .define("XMLSEC_NO_GOST2012", to: "1"), .define("XMLSEC_NO_CRYPTO_DYNAMIC_LOADING", to: "1"),
                .define("XMLSEC_CRYPTO_OPENSSL", to: "1"),
            ],
            linkerSettings: [
                .linkedLibrary("xmlsec1-openssl"), .linkedLibrary("xmlsec1"), .linkedLibrary("xslt"),
                .linkedLibrary("xml2"), .linkedLibrary("ssl"), .linkedLibrary("crypto"),
            ]
        ),

        // Swift modules, dependencies pointing down only.
        // Wire types of the API (bodies, typed events, the problem catalogue, usage event kinds): Foundation only,
        // shared by the daemon, enrollctl and the web gateway.
        .target(name: "EnrollAPIModel"),
        // Owned buffers zeroed when released (keys, passphrases, face images) and the one check of secret files.
        .target(name: "Secrets", dependencies: ["CSystem"]),
        .target(name: "SmartCard", dependencies: ["CPCSCLite"]),
        .target(name: "OpenSSLKit", dependencies: ["COpenSSL"]),
        // ICAO issuing-state codes and their ISO 3166-1 alpha-2 (holder certificates, trust anchors): no dependencies.
        .target(name: "IssuingStates"),
        .target(name: "MRTD", dependencies: ["SmartCard", "OpenSSLKit", "IssuingStates"]),
        .target(name: "FaceMatch", dependencies: ["CFaceEngine", "CLivenessEngine", "OpenSSLKit"]),
        // The access key from a photo of the card: locating, OCR-B, check-digit correction, CAN, the test cards.
        .target(name: "CardScan", dependencies: ["CCardScan", "MRTD", "FaceMatch"]),
        .target(name: "VirtualCard", dependencies: ["SmartCard", "MRTD", "OpenSSLKit"]),
        // HTTP/1.1 over Unix sockets: strict parser, server, client, problem+json.
        .target(name: "UnixHTTP", dependencies: ["CSystem", "EnrollAPIModel"]),
        .target(name: "Store", dependencies: ["CSQLite", "OpenSSLKit", "Secrets"]),
        // PostgreSQL for fleets: its own module, so libpq links only into what can select it.
        .target(name: "PostgresStore", dependencies: ["CLibPQ", "Store"]),
        // Starts and stops a private PostgreSQL cluster (scripts/pg-cluster.sh) for tests and enroll-bench.
        .target(name: "PostgresTestCluster"),
        .target(name: "CertificateAuthority", dependencies: ["OpenSSLKit", "IssuingStates", "Secrets"]),
        // Trust lists for mutual recognition (ETSI TS 119 612 XML, XML-DSig/XAdES) and validation of foreign
        // signing certificates against them.
        .target(name: "TrustList", dependencies: ["CXMLSecurity", "CertificateAuthority", "OpenSSLKit"]),
        .target(
            name: "Enrollment",
            dependencies: [
                "EnrollAPIModel", "Store", "MRTD", "OpenSSLKit", "FaceMatch",
                "IssuingStates", "Secrets",
            ]),
        .target(
            name: "FuzzTargets",
            dependencies: [
                "SmartCard", "MRTD", "OpenSSLKit", "FaceMatch", "UnixHTTP",
                "CertificateAuthority", "VirtualCard", "DaemonCore",
                "EnrollAPIModel", "CardScan", "Enrollment",
            ]),
        .target(
            name: "DaemonCore",
            dependencies: [
                "EnrollAPIModel", "CardScan", "CSystem", "Secrets", "SmartCard", "MRTD", "FaceMatch", "UnixHTTP", "Store",
                "PostgresStore",
                "CertificateAuthority", "Enrollment", "TrustList", "IssuingStates", "CQRencode",
            ]),

        .executableTarget(
            name: "enrolld", dependencies: ["DaemonCore", "Enrollment", "CertificateAuthority", "OpenSSLKit"]),
        .executableTarget(name: "enrollctl", dependencies: ["EnrollAPIModel", "UnixHTTP"]),
        .executableTarget(name: "enroll-vcard", dependencies: ["VirtualCard"]),
        // The reference verifier (data release by consent): reads the QR from an image, asks over TLS with its
        // client certificate, decrypts and verifies the release.
        .target(name: "VerifierClient", dependencies: ["EnrollAPIModel", "UnixHTTP", "OpenSSLKit"]),
        .executableTarget(
            name: "enroll-verifier", dependencies: ["EnrollAPIModel", "UnixHTTP", "OpenSSLKit", "VerifierClient"]),
        // The kiosk app's and counter console's web gateway (127.0.0.1 only): links only the wire types and the
        // HTTP code, like enrollctl; the apps' files are web/.
        .executableTarget(name: "enroll-kiosk", dependencies: ["EnrollAPIModel", "UnixHTTP"]),
        // Fuzzing (scripts/fuzz.sh): a libFuzzer build with -DLIBFUZZER, else a corpus replayer and seed writer.
        .executableTarget(
            name: "enroll-fuzz",
            dependencies: [
                "FuzzTargets", "VirtualCard", "MRTD", "OpenSSLKit",
                "FaceMatch", "SmartCard", "CardScan",
            ]),
        .executableTarget(
            name: "enroll-bench",
            dependencies: [
                "DaemonCore", "VirtualCard", "FaceMatch", "MRTD", "SmartCard", "Store", "VerifierClient",
                "PostgresStore", "PostgresTestCluster", "CertificateAuthority",
                "OpenSSLKit", "UnixHTTP", "Enrollment", "CardScan",
            ]),

        // Test support only: connecting to a socket as another uid from one thread (never linked into a product).
        .target(name: "CTestSupport", path: "Tests/CTestSupport"),
        .testTarget(name: "SmartCardTests", dependencies: ["SmartCard"]),
        .testTarget(name: "OpenSSLKitTests", dependencies: ["OpenSSLKit"]),
        .testTarget(name: "MRTDTests", dependencies: ["MRTD", "VirtualCard", "IssuingStates", "OpenSSLKit"]),
        .testTarget(name: "FaceMatchTests", dependencies: ["FaceMatch"]),
        .testTarget(
            name: "CardScanTests", dependencies: ["CardScan", "MRTD", "FaceMatch"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "StoreTests", dependencies: ["Store", "PostgresStore", "PostgresTestCluster", "OpenSSLKit", "Secrets"]),
        .testTarget(
            name: "CertificateAuthorityTests",
            dependencies: [
                "CertificateAuthority", "OpenSSLKit",
                "IssuingStates", "Secrets",
            ]),
        .testTarget(
            name: "TrustListTests",
            dependencies: [
                "TrustList", "CertificateAuthority", "OpenSSLKit",
                "UnixHTTP",
            ]),
        .testTarget(
            name: "EnrollmentTests",
            dependencies: ["EnrollAPIModel", "Enrollment", "Store", "MRTD", "OpenSSLKit", "Secrets"]),
        .testTarget(name: "SecretsTests", dependencies: ["Secrets"]),
        .testTarget(name: "UnixHTTPTests", dependencies: ["UnixHTTP", "EnrollAPIModel"]),
        // Runs the built enrollctl against a recording server: command lines, requests, secrets off argv.
        .testTarget(name: "EnrollctlTests", dependencies: ["UnixHTTP"]),
        .testTarget(
            name: "DaemonCoreTests",
            dependencies: [
                "UnixHTTP", "DaemonCore", "Store", "EnrollAPIModel", "Enrollment", "CardScan",
                "VirtualCard", "MRTD", "SmartCard", "OpenSSLKit",
                "CertificateAuthority", "FaceMatch", "PostgresStore",
                "PostgresTestCluster", "TrustList", "CTestSupport", "Secrets", "VerifierClient",
            ]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets"]),
        .testTarget(
            name: "HILTests",
            dependencies: [
                "SmartCard", "UnixHTTP", "DaemonCore", "VirtualCard", "FaceMatch", "MRTD",
                "Store", "PostgresStore", "PostgresTestCluster", "CardScan",
            ]),
    ],
    swiftLanguageModes: [.v6]
)
