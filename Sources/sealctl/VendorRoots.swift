import Foundation
import SealSimulatedToken
import SealHostDriver
import X509

/// Trusted vendor root certificates from files, for `verify` and `attest verify`.
enum VendorRoots {
    /// The certificates in `paths`: each file PEM (one or more CERTIFICATE blocks) or DER, read by
    /// the driver's own parser (``StampVerifier/init(trustedRoots:intermediates:)``).
    /// - Throws: ``CLIError`` when a file cannot be read or holds no certificate, so that a wrong
    ///   file is reported at once rather than as every record failing.
    static func load(_ paths: [String]) throws -> [Certificate] {
        try paths.flatMap { path in
            do {
                return try StampVerifier(trustedRoots: try readFile(path, what: "vendor root")).trustedRoots
            } catch let error as SealDriverError {
                throw CLIError("\(path): \(error.message)")
            }
        }
    }

    /// A warning when `roots` include the TEST vendor root of Fixtures/, whose key is public.
    static func testRootWarning(_ roots: [Certificate]) -> String? {
        let testRoot = try? Certificate(pemEncoded: TestCredentials.vendorRootCertificatePEM)
        return roots.contains { $0 == testRoot }
            ? "verified against the TEST vendor root of Fixtures/: its key is public, so this proves nothing about a real seal" : nil
    }
}
