// swift-tools-version:6.0
import PackageDescription

// An integrator's package: it depends on SealKit by path (a release would use its URL and a
// version) and uses only the public API of two products, SealHostDriver (the driver) and
// SealSimulatedToken (the in-process simulated token, for tests and demos).
let package = Package(
    name: "StampAndVerify",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "SealKit", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "StampAndVerify",
            dependencies: [
                .product(name: "SealHostDriver", package: "SealKit"),
                .product(name: "SealSimulatedToken", package: "SealKit"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
