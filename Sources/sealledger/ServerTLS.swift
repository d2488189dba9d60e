import ArgumentParser
import NIOSSL

/// The TLS configuration of `serve --tls-cert CERT --tls-key KEY` (docs/verify-page.md, "TLS"): the
/// certificate chain (PEM, leaf first) and its private key (PEM), served through swift-nio-ssl with
/// its default protocol versions (TLS 1.2 and 1.3) and ciphers. Nil when neither is given.
/// - Throws: `ValidationError` (exit 64) when only one is given or a file is unreadable or not PEM.
func serverTLSConfiguration(certificate: String?, key: String?) throws -> TLSConfiguration? {
    switch (certificate, key) {
    case (nil, nil): return nil
    case (nil, .some): throw ValidationError("--tls-key needs --tls-cert")
    case (.some, nil): throw ValidationError("--tls-cert needs --tls-key")
    case (.some(let certificatePath), .some(let keyPath)):
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch {
            throw ValidationError("--tls-cert \(certificatePath): not a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw ValidationError("--tls-cert \(certificatePath) holds no certificate") }
        let privateKey: NIOSSLPrivateKey
        do { privateKey = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw ValidationError("--tls-key \(keyPath): not a readable PEM private key (\(error))")
        }
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
    }
}
