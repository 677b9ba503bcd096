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
    ],
    targets: [
        // C bindings: Debian system libraries behind module maps and shim headers.
        .systemLibrary(name: "CPCSCLite", path: "Sources/CPCSCLite", pkgConfig: "libpcsclite",
                       providers: [.apt(["libpcsclite-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CSystem", path: "Sources/CSystem"),
        .target(
            name: "CFaceEngine",
            path: "Sources/CFaceEngine",
            cxxSettings: [
                .unsafeFlags(["-std=c++17", "-O2", "-I/usr/include/openjpeg-2.5"]),
            ],
            linkerSettings: [
                .linkedLibrary("dlib"), .linkedLibrary("openjp2"), .linkedLibrary("jpeg"),
                .linkedLibrary("png"), .linkedLibrary("blas"), .linkedLibrary("lapack"),
                .linkedLibrary("stdc++"),
            ]
        ),

        // Swift modules, dependencies pointing down only.
        // Wire types of the API (bodies, typed events, the problem catalogue, usage event kinds): Foundation only,
        // shared by the daemon, enrollctl and the web gateway.
        .target(name: "EnrollAPIModel"),
        .target(name: "SmartCard", dependencies: ["CPCSCLite"]),
        .target(name: "OpenSSLKit", dependencies: ["COpenSSL"]),
        .target(name: "MRTD", dependencies: ["SmartCard", "OpenSSLKit"]),
        .target(name: "FaceMatch", dependencies: ["CFaceEngine"]),
        .target(name: "VirtualCard", dependencies: ["SmartCard", "MRTD", "OpenSSLKit"]),
        // HTTP/1.1 over Unix sockets: strict parser, server, client, problem+json.
        .target(name: "UnixHTTP", dependencies: ["CSystem", "EnrollAPIModel"]),
        .target(name: "Store", dependencies: ["CSQLite", "OpenSSLKit"]),
        // PostgreSQL for fleets: its own module, so libpq links only into what can select it.
        .target(name: "PostgresStore", dependencies: ["CLibPQ", "Store"]),
        // Starts and stops a private PostgreSQL cluster (scripts/pg-cluster.sh) for tests and enroll-bench.
        .target(name: "PostgresTestCluster"),
        .target(name: "CertificateAuthority", dependencies: ["OpenSSLKit"]),
        .target(name: "Enrollment", dependencies: ["EnrollAPIModel", "Store", "MRTD", "OpenSSLKit"]),
        .target(name: "FuzzTargets", dependencies: ["SmartCard", "MRTD", "OpenSSLKit", "FaceMatch", "UnixHTTP",
                                                    "CertificateAuthority"]),
        .target(name: "DaemonCore", dependencies: ["EnrollAPIModel", "CSystem", "SmartCard", "MRTD", "FaceMatch", "UnixHTTP", "Store", "PostgresStore",
                                                   "CertificateAuthority", "Enrollment"]),

        .executableTarget(name: "enrolld", dependencies: ["DaemonCore", "Enrollment", "CertificateAuthority", "OpenSSLKit"]),
        .executableTarget(name: "enrollctl", dependencies: ["EnrollAPIModel", "UnixHTTP"]),
        .executableTarget(name: "enroll-vcard", dependencies: ["VirtualCard"]),
        // Fuzzing (scripts/fuzz.sh): a libFuzzer build with -DLIBFUZZER, else a corpus replayer and seed writer.
        .executableTarget(name: "enroll-fuzz", dependencies: ["FuzzTargets", "VirtualCard", "MRTD", "OpenSSLKit",
                                                            "FaceMatch", "SmartCard"]),
        .executableTarget(name: "enroll-bench", dependencies: ["DaemonCore", "VirtualCard", "FaceMatch", "MRTD", "SmartCard", "Store",
                                                             "PostgresStore", "PostgresTestCluster", "CertificateAuthority",
                                                             "OpenSSLKit", "UnixHTTP", "Enrollment"]),

        // Test support only: connecting to a socket as another uid from one thread (never linked into a product).
        .target(name: "CTestSupport", path: "Tests/CTestSupport"),
        .testTarget(name: "SmartCardTests", dependencies: ["SmartCard"]),
        .testTarget(name: "OpenSSLKitTests", dependencies: ["OpenSSLKit"]),
        .testTarget(name: "MRTDTests", dependencies: ["MRTD", "VirtualCard"]),
        .testTarget(name: "FaceMatchTests", dependencies: ["FaceMatch"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "PostgresStore", "PostgresTestCluster", "OpenSSLKit"]),
        .testTarget(name: "CertificateAuthorityTests", dependencies: ["CertificateAuthority", "OpenSSLKit"]),
        .testTarget(name: "EnrollmentTests", dependencies: ["EnrollAPIModel", "Enrollment", "Store", "MRTD", "OpenSSLKit"]),
        .testTarget(name: "UnixHTTPTests", dependencies: ["UnixHTTP", "EnrollAPIModel"]),
        // Runs the built enrollctl against a recording server: command lines, requests, secrets off argv.
        .testTarget(name: "EnrollctlTests", dependencies: ["UnixHTTP"]),
        .testTarget(name: "DaemonCoreTests", dependencies: ["UnixHTTP", "DaemonCore", "Store", "EnrollAPIModel", "Enrollment",
                                                  "VirtualCard", "MRTD", "SmartCard", "OpenSSLKit",
                                                  "CertificateAuthority", "FaceMatch", "PostgresStore",
                                                  "PostgresTestCluster", "CTestSupport"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "HILTests", dependencies: ["SmartCard", "UnixHTTP", "DaemonCore", "VirtualCard", "FaceMatch", "MRTD",
                                                 "Store", "PostgresStore", "PostgresTestCluster"]),
    ],
    swiftLanguageModes: [.v6]
)
