import Foundation
import SealGMCrypto
import Testing

/// A root CA with a seal maker and a signer under it, made by the openssl command line (SM2 keys,
/// SM2-with-SM3 certificates with the default distinguishing ID), so that chains to a configured
/// root can be checked with certificates SealKit did not make.
struct TestPKI {
    let directory: URL
    let root: SM2Certificate
    let maker: SM2Certificate
    let makerKey: SM2PrivateKey
    let signer: SM2Certificate
    let signerKey: SM2PrivateKey
    /// A second, unrelated root.
    let otherRoot: SM2Certificate

    init() throws {
        let directory = try OpenSSLCommandLine.temporaryDirectory()
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
                throw TestPKIError(message: "openssl \(step.joined(separator: " ")): \(result.output)")
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

    func remove() { try? FileManager.default.removeItem(at: directory) }

    func write(_ bytes: [UInt8], to name: String) throws {
        try Data(bytes).write(to: directory.appendingPathComponent(name))
    }
}

struct TestPKIError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
