import Foundation
import SealGMCrypto

/// A root CA with a seal maker and a signer under it, made by the openssl command line (SM2 keys,
/// SM2-with-SM3 certificates with the default distinguishing ID), so that chains to a configured
/// root can be checked with certificates SealKit did not make.
package struct SM2TestPKI {
    package let directory: URL
    package let root: SM2Certificate
    package let maker: SM2Certificate
    package let makerKey: SM2PrivateKey
    package let signer: SM2Certificate
    package let signerKey: SM2PrivateKey
    /// A second, unrelated root.
    package let otherRoot: SM2Certificate

    /// Makes the PKI in a new temporary directory (``remove()`` deletes it).
    package init() throws {
        let directory = try OpenSSLCommandLine.temporaryDirectory("pki")
        self.directory = directory
        let id = "distid:1234567812345678"
        var steps: [[String]] = []
        for name in ["root", "other"] {
            steps.append(["genpkey", "-algorithm", "SM2", "-out", "\(name).key"])
            steps.append(["req", "-x509", "-new", "-key", "\(name).key", "-sm3", "-sigopt", id,
                          "-subj", "/C=CN/O=SealKit Test/CN=\(name) CA", "-days", "3650", "-out", "\(name).pem"])
        }
        for (index, name) in ["maker", "signer"].enumerated() {
            steps.append(["genpkey", "-algorithm", "SM2", "-out", "\(name).key"])
            steps.append(["req", "-new", "-key", "\(name).key", "-sm3", "-sigopt", id,
                          "-subj", "/C=CN/O=SealKit Test/CN=\(name)", "-out", "\(name).csr"])
            steps.append(["x509", "-req", "-in", "\(name).csr", "-vfyopt", id, "-CA", "root.pem", "-CAkey", "root.key",
                          "-set_serial", "\(index + 10)", "-sm3", "-sigopt", id, "-days", "365", "-out", "\(name).pem"])
        }
        for step in steps {
            let result = try OpenSSLCommandLine.run(step, in: directory)
            guard result.status == 0 else {
                throw SM2TestPKIError(message: "openssl \(step.joined(separator: " ")): \(result.output)")
            }
        }
        func text(_ name: String) throws -> String { try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) }
        root = try SM2Certificate(pemRepresentation: text("root.pem"))
        otherRoot = try SM2Certificate(pemRepresentation: text("other.pem"))
        maker = try SM2Certificate(pemRepresentation: text("maker.pem"))
        makerKey = try SM2PrivateKey(pemRepresentation: text("maker.key"))
        signer = try SM2Certificate(pemRepresentation: text("signer.pem"))
        signerKey = try SM2PrivateKey(pemRepresentation: text("signer.key"))
    }

    /// Deletes the PKI's directory.
    package func remove() { try? FileManager.default.removeItem(at: directory) }

    /// Writes `bytes` to `name` in the PKI's directory (for openssl to read).
    package func write(_ bytes: [UInt8], to name: String) throws {
        try Data(bytes).write(to: directory.appendingPathComponent(name))
    }
}

/// An openssl step that failed while making the PKI.
package struct SM2TestPKIError: Error, CustomStringConvertible {
    package let message: String
    package var description: String { message }

    /// An error saying `message`.
    package init(message: String) { self.message = message }
}
