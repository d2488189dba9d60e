import Foundation
import SealSimulatedToken
import SwiftASN1
import X509

/// Trusted vendor root certificates from files, for `verify` and `attest verify`.
enum VendorRoots {
    /// The certificates in `paths`: each file PEM (one or more CERTIFICATE blocks) or DER.
    /// - Throws: ``CLIError`` when a file cannot be read or holds no certificate, so that a wrong
    ///   file is reported at once rather than as every record failing.
    static func load(_ paths: [String]) throws -> [Certificate] {
        var roots: [Certificate] = []
        for path in paths {
            let bytes = try readFile(path, what: "vendor root")
            let text = String(decoding: bytes, as: UTF8.self)
            if text.contains("-----BEGIN") {
                do {
                    let certificates = try PEMDocument.parseMultiple(pemString: text)
                        .filter { $0.discriminator == "CERTIFICATE" }
                        .map { try Certificate(pemDocument: $0) }
                    guard !certificates.isEmpty else { throw CLIError("\(path) holds no CERTIFICATE block") }
                    roots += certificates
                } catch let error as CLIError {
                    throw error
                } catch {
                    throw CLIError("\(path) holds no usable PEM certificate: \(error)")
                }
            } else {
                do {
                    roots.append(try Certificate(derEncoded: bytes))
                } catch {
                    throw CLIError("\(path) is neither a PEM nor a DER certificate")
                }
            }
        }
        return roots
    }

    /// A warning when `roots` include the TEST vendor root of Fixtures/, whose key is public.
    static func testRootWarning(_ roots: [Certificate]) -> String? {
        let testRoot = try? Certificate(pemEncoded: TestCredentials.vendorRootCertificatePEM)
        return roots.contains { $0 == testRoot }
            ? "verified against the TEST vendor root of Fixtures/: its key is public, so this proves nothing about a real seal" : nil
    }
}
