// swift-tools-version:6.0
import PackageDescription

// Targets and the one direction their dependencies point (docs/architecture.md draws it):
//
//   SealProtocol (Protocol/)            the APDU codec and the seal encodings; nothing of ours
//   SealFirmware (Firmware/)            the chip model                          -> SealProtocol
//   SealHostDriver (HostDriver/Core)    what integrators link; no C library     -> SealProtocol
//   SealPCSC (HostDriver/PCSC)          PC/SC backend, libpcsclite              -> SealHostDriver
//   SealReaderWire (Sources/)           CCID, USB/IP, USB descriptor, vpcd wire formats
//   SealUSB (HostDriver/USB)            USB CCID backend, libusb + USB/IP       -> SealHostDriver, SealReaderWire
//   SealSimulatedToken (Sources/)       the chip in process, for tests          -> SealFirmware, SealHostDriver
//   SealSimulatorServers (Sources/)     vpcd, USB/IP and control servers        -> SealSimulatedToken, SealReaderWire
//   SealConformance (Sources/)          the conformance suite                   -> SealHostDriver
//   SealKitC (Sources/)                 libsealkit, the C API                   -> SealHostDriver, SealPCSC, SealUSB
//   SealKitCSimulated (Sources/)        libsealkit-sim, the test token for C    -> SealSimulatedToken
//   SealKitSKF (Sources/)               libsealkit-skf, the GM/T 0016 (SKF) view -> SealHostDriver, SealPCSC, SealESeal
//   SealGMCrypto (Sources/)             SM2, SM3 through OpenSSL 3 (COpenSSL)   -> SealProtocol
//   SealESeal (Sources/)                GB/T 38540 / GM/T 0031 seals, signatures -> SealGMCrypto
//   SealOFD (Sources/)                  OFD containers signed and verified       -> SealESeal, ZIPFoundation
//   SealLedger (Sources/)               the transparency log (docs/ledger.md)   -> SealHostDriver, GRDB
//   SealLedgerPostgres (Sources/)       the ledger's storage on PostgreSQL      -> SealLedger, PostgresNIO
//   SealLedgerAccess (Sources/)         roles, tokens, personal data (docs/access.md) -> SealLedger, JWTKit
//   SealImprint (Sources/)              trace QR payload, QR codes, the imprint, trace checks (docs/imprint.md)
//                                                                               -> SealLedger, libqrencode, libzbar, cairo
//   SealTraceReport (Sources/)          the traceability report: model and HTML page (docs/report.md)
//                                                                               -> SealLedger, SealLedgerAccess
//   executables on top. The chip and the driver never depend on each other; the simulator links
//   neither libpcsclite nor libusb.
// The libFuzzer targets (docs/fuzzing.md): one executable each under Sources/Fuzz/<Name>, holding
// only its `LLVMFuzzerTestOneInput` entry. scripts/fuzz.sh builds them one at a time with
// `--sanitize=fuzzer -Xswiftc -DSEALKIT_FUZZING`; a plain build gives each a replay `main` instead.
let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzAPDU", ["SealProtocol"]),
    ("FuzzBERTLV", ["SealProtocol"]),
    ("FuzzChipAPDU", ["SealFirmware", "SealProtocol", .product(name: "Crypto", package: "swift-crypto")]),
    ("FuzzVPCDFrame", ["SealReaderWire"]),
    ("FuzzCCID", ["SealReaderWire", "SealProtocol"]),
    ("FuzzUSBIP", ["SealReaderWire"]),
    ("FuzzStampRecord", ["SealHostDriver"]),
    ("FuzzSealEncodings", ["SealProtocol"]),
]

let package = Package(
    name: "SealKit",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SealProtocol", targets: ["SealProtocol"]),
        .library(name: "SealHostDriver", targets: ["SealHostDriver"]),
        .library(name: "SealPCSC", targets: ["SealPCSC"]),
        .library(name: "SealUSB", targets: ["SealUSB"]),
        .library(name: "SealSimulatedToken", targets: ["SealSimulatedToken"]),
        .library(name: "SealFirmware", targets: ["SealFirmware"]),
        .library(name: "SealConformance", targets: ["SealConformance"]),
        .library(name: "SealGMCrypto", targets: ["SealGMCrypto"]),
        .library(name: "SealSM2Verifier", targets: ["SealSM2Verifier"]),
        .library(name: "SealESeal", targets: ["SealESeal"]),
        .library(name: "SealOFD", targets: ["SealOFD"]),
        .library(name: "SealLedger", targets: ["SealLedger"]),
        .library(name: "SealLedgerAccess", targets: ["SealLedgerAccess"]),
        .library(name: "SealLedgerPostgres", targets: ["SealLedgerPostgres"]),
        .library(name: "SealImprint", targets: ["SealImprint"]),
        // The C library (docs/c-library.md): libsealkit.so, and libsealkit-sim.so for C tests.
        .library(name: "sealkit", type: .dynamic, targets: ["SealKitC"]),
        .library(name: "sealkit-sim", type: .dynamic, targets: ["SealKitCSimulated"]),
        // The token through GM/T 0016's SKF interface (docs/skf.md).
        .library(name: "sealkit-skf", type: .dynamic, targets: ["SealKitSKF"]),
        .executable(name: "sealctl", targets: ["sealctl"]),
        .executable(name: "sealsim", targets: ["sealsim"]),
        .executable(name: "sealbench", targets: ["sealbench"]),
        .executable(name: "sealledger", targets: ["sealledger"]),
    ] + fuzzTargets.map { .executable(name: $0.name, targets: [$0.name]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Reads and writes OFD containers (ZIP): SealOFD, and the GB/T 38540 interop tests.
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // TLS for `sealledger serve` (Hummingbird's HummingbirdTLS is built on it).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Bearer tokens of the ledger's roles (SealLedgerAccess, docs/access.md).
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        // The ledger's PostgreSQL backend (SealLedgerPostgres, docs/ledger.md "PostgreSQL at scale").
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Reads docs/ledger-openapi.yaml in the every-endpoint, every-role test.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // `swift package generate-documentation` (scripts/docs.sh); no target depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // The ledger's metrics (SealLedger's LedgerMetrics) and their Prometheus exposition at /metrics.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CPCSCLite",
            path: "Sources/CPCSCLite",
            pkgConfig: "libpcsclite",
            providers: [.apt(["libpcsclite-dev"]), .yum(["pcsc-lite-devel"])]
        ),
        .systemLibrary(
            name: "CLibUSB",
            path: "Sources/CLibUSB",
            pkgConfig: "libusb-1.0",
            providers: [.apt(["libusb-1.0-0-dev"]), .yum(["libusbx-devel"])]
        ),
        // Debian's OpenSSL 3 libcrypto for SM2 and SM3 (docs/gbt38540.md); swift-crypto's BoringSSL
        // has neither, and its symbols are prefixed, so the two coexist.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .yum(["openssl-devel"])]
        ),
        .target(name: "SealGMCrypto", dependencies: ["COpenSSL", "SealProtocol"], path: "Sources/SealGMCrypto"),
        // The SM2 seal signature verifier the driver core's hook takes (it links no C library).
        .target(name: "SealSM2Verifier", dependencies: ["SealHostDriver", "SealGMCrypto"], path: "Sources/SealSM2Verifier"),
        .target(
            name: "SealESeal",
            dependencies: ["SealGMCrypto", "SealProtocol", .product(name: "SwiftASN1", package: "swift-asn1")],
            path: "Sources/SealESeal"
        ),
        // XML through FoundationXML (libxml2's DOM, part of the toolchain on Linux).
        .target(
            name: "SealOFD",
            dependencies: [
                "SealESeal", "SealGMCrypto", "SealProtocol",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            path: "Sources/SealOFD"
        ),
        .target(
            name: "SealProtocol",
            // CryptoExtras: AES-CBC without padding, AES-CMAC and the AES block function of the
            // secure channel (Protocol/SecureChannel).
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto")],
            path: "Protocol",
            exclude: ["SPEC.md"]
        ),
        .target(name: "SealReaderWire", dependencies: ["SealProtocol"], path: "Sources/SealReaderWire"),
        // statx(2) without timestamps for the state file's per-commit check (Swift's Glibc module does
        // not declare statx; see Sources/CSealFileStatus/include/CSealFileStatus.h for why it matters).
        .target(name: "CSealFileStatus", path: "Sources/CSealFileStatus"),
        .target(
            name: "SealFirmware",
            // SealGMCrypto: SM2 seal keys (OpenSSL's libcrypto, as a secure element's crypto engine).
            // SwiftASN1: the DER TBS_Sign that STAMP-SES composes (SPEC §9.7).
            // CSealFileStatus: the file backing store's identity check (FileBackingStore.swift).
            dependencies: ["SealProtocol", "SealGMCrypto", "CSealFileStatus", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "SwiftASN1", package: "swift-asn1")],
            path: "Firmware"
        ),
        .target(
            name: "SealHostDriver",
            dependencies: [
                "SealProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "HostDriver/Core"
        ),
        .target(
            name: "SealPCSC",
            dependencies: ["SealHostDriver", .target(name: "CPCSCLite", condition: .when(platforms: [.linux]))],
            path: "HostDriver/PCSC"
        ),
        .target(
            name: "SealUSB",
            dependencies: [
                "SealHostDriver", "SealReaderWire",
                .target(name: "CLibUSB", condition: .when(platforms: [.linux])),
            ],
            path: "HostDriver/USB"
        ),
        .target(
            name: "SealSimulatedToken",
            dependencies: [
                "SealFirmware", "SealHostDriver",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Sources/SealSimulatedToken"
        ),
        .target(
            name: "SealSimulatorServers",
            dependencies: ["SealSimulatedToken", "SealReaderWire", "SealFirmware", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/SealSimulatorServers"
        ),
        .target(
            name: "SealConformance",
            dependencies: [
                "SealHostDriver", "SealSM2Verifier", "SealGMCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Sources/SealConformance"
        ),
        // The C library. Each dylib exports only its `sealkit_*` functions (a linker version script):
        // both carry their own copy of the Swift modules they link, and nothing Swift-typed may be
        // shared between them. (unsafeFlags: C programs link these products; no Swift package does.)
        .systemLibrary(name: "CSealKit", path: "Sources/SealKitC/include"),
        .target(name: "SealKitCBridge", dependencies: ["CSealKit", "SealHostDriver", "SealProtocol"], path: "Sources/SealKitCBridge"),
        .target(
            name: "SealKitC",
            dependencies: ["CSealKit", "SealKitCBridge", "SealHostDriver", "SealPCSC", "SealUSB"],
            path: "Sources/SealKitC",
            exclude: ["include", "exports.map"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/SealKitC/exports.map"])]
        ),
        .target(
            name: "SealKitCSimulated",
            dependencies: [
                "CSealKit", "SealKitCBridge", "SealSimulatedToken", "SealFirmware", "SealHostDriver",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/SealKitCSimulated",
            exclude: ["include", "exports.map"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/SealKitCSimulated/exports.map"])]
        ),
        // libsealkit-skf (docs/skf.md): exports only SKF_*; takes caller transports as sealkit.h
        // declares them (CSealKit), so libsealkit-sim's simulated token plugs in.
        .systemLibrary(name: "CSealKitSKF", path: "Sources/SealKitSKF/include"),
        .target(
            name: "SealKitSKF",
            dependencies: [
                "CSealKit", "CSealKitSKF", "SealKitCBridge", "SealHostDriver", "SealPCSC", "SealESeal", "SealGMCrypto", "SealSM2Verifier",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Sources/SealKitSKF",
            exclude: ["include", "exports.map"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/SealKitSKF/exports.map"])]
        ),
        // Builds the GB/T 38540 test seal scripts/skf-test.sh installs on an SM2 test token (TEST ONLY).
        .executableTarget(name: "skf-test-seal", dependencies: ["SealESeal", "SealGMCrypto"], path: "Sources/skf-test-seal"),
        .target(
            name: "SealLedger",
            dependencies: [
                "SealHostDriver", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/SealLedger"
        ),
        // The ledger's storage on PostgreSQL: several server instances on one database, one sequencer
        // at a time under an advisory lock (docs/ledger.md, "PostgreSQL at scale").
        .target(
            name: "SealLedgerPostgres",
            dependencies: [
                "SealLedger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/SealLedgerPostgres"
        ),
        // Who may see what in the ledger: roles and their tokens, the encrypted personal data and the
        // access log (docs/access.md). Above the ledger core, which stays free of personal data.
        .target(
            name: "SealLedgerAccess",
            dependencies: [
                "SealLedger", "SealHostDriver", "SealProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            path: "Sources/SealLedgerAccess"
        ),
        // Debian's libqrencode, libzbar and cairo (with its fontconfig/FreeType backend) for the
        // imprint and its QR code (docs/imprint.md).
        .systemLibrary(
            name: "CQREncode",
            path: "Sources/CQREncode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"]), .yum(["qrencode-devel"])]
        ),
        .systemLibrary(
            name: "CZBar",
            path: "Sources/CZBar",
            pkgConfig: "zbar",
            providers: [.apt(["libzbar-dev"]), .yum(["zbar-devel"])]
        ),
        .systemLibrary(
            name: "CCairo",
            path: "Sources/CCairo",
            pkgConfig: "cairo-ft",
            providers: [.apt(["libcairo2-dev"]), .yum(["cairo-devel"])]
        ),
        .target(
            name: "SealImprint",
            dependencies: [
                "SealLedger", "SealHostDriver", "CQREncode", "CZBar", "CCairo",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/SealImprint"
        ),
        // The traceability report behind the QR code (docs/report.md): one self-contained HTML page.
        .target(
            name: "SealTraceReport",
            dependencies: [
                "SealLedger", "SealLedgerAccess", "SealHostDriver", "SealProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Sources/SealTraceReport"
        ),
        .executableTarget(
            name: "sealledger",
            dependencies: [
                "SealLedger", "SealLedgerAccess", "SealLedgerPostgres", "SealHostDriver", "SealSimulatedToken", "SealSM2Verifier", "SealTraceReport",
                // The verification page: zbar decodes uploaded QR images, the trace checks decide (docs/verify-page.md).
                "SealImprint",
                .product(name: "Hummingbird", package: "hummingbird"),
                // `serve --tls-cert/--tls-key`: WebCrypto needs a secure context (docs/verify-page.md).
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Sources/sealledger"
        ),
        .executableTarget(
            name: "sealctl",
            dependencies: [
                "SealLedger", "SealConformance", "SealSimulatedToken", "SealSimulatorServers", "SealHostDriver", "SealPCSC", "SealUSB",
                "SealESeal", "SealGMCrypto", "SealOFD", "SealImprint", "SealSM2Verifier", "SealTraceReport", "SealLedgerAccess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Sources/sealctl"
        ),
        .executableTarget(
            name: "sealsim",
            dependencies: [
                "SealSimulatedToken", "SealSimulatorServers", "SealFirmware", "SealHostDriver",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/sealsim"
        ),
        .target(name: "SealFuzzSupport", path: "Sources/Fuzz/SealFuzzSupport"),
        // What several test targets share (the openssl command line, an SM2 test PKI); `package`
        // access only, no product.
        .target(name: "SealTestSupport", dependencies: ["SealGMCrypto"], path: "Sources/SealTestSupport"),
        .executableTarget(
            name: "sealbench",
            dependencies: [
                "SealSimulatedToken", "SealSimulatorServers", "SealHostDriver", "SealPCSC", "SealUSB", "SealFirmware", "SealGMCrypto",
                "SealESeal", "SealTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/sealbench"
        ),
        .testTarget(
            name: "SealProtocolTests",
            dependencies: ["SealProtocol", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/SealProtocolTests"
        ),
        .testTarget(name: "SealReaderWireTests", dependencies: ["SealReaderWire", "SealProtocol"], path: "Tests/SealReaderWireTests"),
        .testTarget(
            name: "SealFirmwareTests",
            dependencies: ["SealFirmware", "SealGMCrypto", "SealESeal", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/SealFirmwareTests"
        ),
        .testTarget(
            name: "SealHostDriverTests",
            dependencies: [
                "SealHostDriver", "SealSimulatedToken", "SealSM2Verifier", "SealGMCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Tests/SealHostDriverTests"
        ),
        .testTarget(
            name: "SealPCSCTests",
            dependencies: ["SealPCSC", "SealSimulatorServers", "SealSimulatedToken", "SealHostDriver", "SealProtocol", "SealFirmware"],
            path: "Tests/SealPCSCTests"
        ),
        .testTarget(
            name: "SealUSBTests",
            dependencies: ["SealUSB", "SealReaderWire", "SealSimulatorServers", "SealSimulatedToken", "SealHostDriver", "SealProtocol", "SealFirmware", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/SealUSBTests"
        ),
        .testTarget(
            name: "SealSimulatedTokenTests",
            dependencies: ["SealSimulatedToken", "SealHostDriver", "SealProtocol", "SealFirmware"],
            path: "Tests/SealSimulatedTokenTests"
        ),
        .testTarget(
            name: "SealSimulatorServersTests",
            dependencies: ["SealSimulatorServers", "SealReaderWire", "SealUSB", "SealSimulatedToken", "SealHostDriver", "SealProtocol", "SealFirmware"],
            path: "Tests/SealSimulatorServersTests"
        ),
        .testTarget(
            name: "SealConformanceTests",
            dependencies: [
                "SealConformance", "SealSimulatedToken", "SealHostDriver",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/SealConformanceTests"
        ),
        .testTarget(
            name: "SealKitCTests",
            dependencies: [
                "CSealKit", "SealKitC", "SealKitCSimulated", "SealSimulatorServers", "SealHostDriver",
                "SealPCSC", "SealUSB", "SealProtocol", .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Tests/SealKitCTests"
        ),
        .testTarget(name: "SealGMCryptoTests", dependencies: ["SealGMCrypto", "SealTestSupport"], path: "Tests/SealGMCryptoTests"),
        .testTarget(
            name: "SealESealTests",
            dependencies: [
                "SealESeal", "SealGMCrypto", "SealTestSupport", .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            path: "Tests/SealESealTests"
        ),
        .testTarget(
            name: "SealOFDTests",
            dependencies: [
                "SealOFD", "SealESeal", "SealGMCrypto", "SealTestSupport", .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            path: "Tests/SealOFDTests"
        ),
        .testTarget(
            name: "SealLedgerTests",
            dependencies: [
                "SealLedger", "SealLedgerPostgres", "SealHostDriver", "SealProtocol", "SealTestSupport", "SealSimulatedToken", "SealSM2Verifier",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Tests/SealLedgerTests",
            exclude: ["go"]
        ),
        // The PostgreSQL backend's own behaviour (the fence, several instances); needs SEALKIT_POSTGRES_URL.
        .testTarget(
            name: "SealLedgerPostgresTests",
            dependencies: ["SealLedgerPostgres", "SealLedger", "SealHostDriver", "SealTestSupport",
                           .product(name: "X509", package: "swift-certificates")],
            path: "Tests/SealLedgerPostgresTests"
        ),
        // Runs the built sealledger as a subprocess: every endpoint of docs/ledger-openapi.yaml, every role; and its alerts.
        .testTarget(
            name: "SealLedgerAccessTests",
            dependencies: [
                "SealLedgerAccess", "SealLedger", "SealHostDriver", "SealProtocol", "SealTestSupport",
                // The verification page's test draws a real imprint QR code to upload.
                "SealImprint",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Yams", package: "Yams"),
                // The webhook receiver of the alert tests.
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Tests/SealLedgerAccessTests"
        ),
        // Renders and reads back QR codes and imprints; checks them against zbarimg and rsvg-convert.
        .testTarget(
            name: "SealImprintTests",
            dependencies: ["SealImprint", "SealLedger", "SealHostDriver", "CCairo", "SealTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/SealImprintTests"
        ),
        // Renders reports of real stamps; runs the built sealledger and sealctl (report, /v1/reports, /metrics).
        .testTarget(
            name: "SealTraceReportTests",
            dependencies: [
                "SealTraceReport", "SealLedger", "SealLedgerAccess", "SealHostDriver", "SealProtocol", "SealSimulatedToken",
                "SealTestSupport", .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/SealTraceReportTests"
        ),
        // Runs the built sealctl, sealsim and sealbench as subprocesses (docs/sealctl.md).
        .testTarget(
            name: "sealctlTests",
            dependencies: ["SealHostDriver", "SealProtocol", "SealESeal", "SealGMCrypto", "SealOFD",
                           .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            path: "Tests/sealctlTests"
        ),
    ] + fuzzTargets.map {
        .executableTarget(name: $0.name, dependencies: ["SealFuzzSupport"] + $0.dependencies, path: "Sources/Fuzz/\($0.name)")
    },
    swiftLanguageModes: [.v6]
)
