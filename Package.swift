// swift-tools-version:6.0
import PackageDescription

// Dependency direction (see README "Layout"):
//   SealProtocol  <-  SealFirmware (the chip)
//   SealProtocol  <-  SealHostDriver (what integrators link)
//   SealFirmware + SealHostDriver  <-  SealSimulator (in-process transport, manufacturing, token store)
//   SealHostDriver  <-  SealConformance
//   executables on top.
let package = Package(
    name: "SealKit",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SealProtocol", targets: ["SealProtocol"]),
        .library(name: "SealHostDriver", targets: ["SealHostDriver"]),
        .library(name: "SealFirmware", targets: ["SealFirmware"]),
        .library(name: "SealConformance", targets: ["SealConformance"]),
        .executable(name: "sealctl", targets: ["sealctl"]),
        .executable(name: "sealsim", targets: ["sealsim"]),
        .executable(name: "sealbench", targets: ["sealbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
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
        .target(
            name: "SealProtocol",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Protocol",
            exclude: ["SPEC.md"]
        ),
        .target(
            name: "SealFirmware",
            dependencies: ["SealProtocol", .product(name: "Crypto", package: "swift-crypto")],
            path: "Firmware"
        ),
        .target(
            name: "SealHostDriver",
            dependencies: [
                "SealProtocol",
                .target(name: "CPCSCLite", condition: .when(platforms: [.linux])),
                .target(name: "CLibUSB", condition: .when(platforms: [.linux])),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "HostDriver"
        ),
        .target(
            name: "SealSimulator",
            dependencies: [
                "SealFirmware", "SealHostDriver", "SealProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Sources/SealSimulator"
        ),
        .target(
            name: "SealConformance",
            dependencies: [
                "SealHostDriver", "SealProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Sources/SealConformance"
        ),
        .executableTarget(
            name: "sealctl",
            dependencies: [
                "SealConformance", "SealSimulator", "SealHostDriver", "SealProtocol",
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
                "SealSimulator", "SealFirmware", "SealProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/sealsim"
        ),
        .executableTarget(
            name: "sealbench",
            dependencies: [
                "SealSimulator", "SealHostDriver", "SealProtocol", "SealFirmware",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/sealbench"
        ),
        .testTarget(name: "SealProtocolTests", dependencies: ["SealProtocol"], path: "Tests/SealProtocolTests"),
        .testTarget(
            name: "SealFirmwareTests",
            dependencies: ["SealFirmware", "SealProtocol", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/SealFirmwareTests"
        ),
        .testTarget(
            name: "SealHostDriverTests",
            dependencies: [
                "SealHostDriver", "SealProtocol", "SealSimulator", "SealFirmware",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Tests/SealHostDriverTests"
        ),
        .testTarget(
            name: "SealConformanceTests",
            dependencies: [
                "SealConformance", "SealSimulator", "SealHostDriver", "SealFirmware", "SealProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/SealConformanceTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
