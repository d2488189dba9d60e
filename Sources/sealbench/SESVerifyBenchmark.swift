// GB/T 38540 verification beside the raw SM2 verifications it needs, measured in the same run
// (issue 12: an SES_Signature verifies at >= 0.8 of the raw cost of its maker and signer
// signature checks, certificate chains cached). See docs/benchmarks.md.
import Foundation
import SealESeal
import SealGMCrypto
import SealTestSupport

enum SESVerifyBenchmark {
    /// Interleaved rounds of (a) the two raw SM2 verifications an SES_Signature needs — the
    /// signer's over TBS_Sign and the maker's over the seal — and (b) `SESVerifier.verify` of the
    /// parsed signature with the document (every check: both signatures, the list, validity
    /// periods, both chains from the verifier's cache, the data hash). Prints both rates, the
    /// ratio raw/SES per operation and the goal.
    static func run(seconds: Double) throws {
        let pki = try SM2TestPKI()
        defer { pki.remove() }
        let now = Date()
        let seal = try SESealBuilder(
            vendorID: "SealKit", sealID: "BENCH-0001", type: 1, name: "benchmark seal",
            signerCertificates: [pki.signer.derRepresentation], createDate: now,
            validStart: now.addingTimeInterval(-3600), validEnd: now.addingTimeInterval(86_400),
            // About the size of a real seal (~17 KB): the picture dominates.
            picture: SESSealPicture(type: "PNG", data: [UInt8](repeating: 0x42, count: 16_000), width: 40, height: 40)
        ).build(makerCertificate: pki.maker, makerKey: pki.makerKey)
        let document = Array("<ofd:Signature>benchmark</ofd:Signature>".utf8)
        let tbs = try SESSignatureBuilder(seal: seal, time: now, dataHash: SM3.hash(document),
                                          propertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml").tbsSignDER()
        let signature = try SESSignatureBuilder.assemble(tbsSign: tbs, signerCertificate: pki.signer.derRepresentation,
                                                         signature: try pki.signerKey.signature(for: tbs))
        let verifier = SESVerifier(roots: [pki.root])
        guard verifier.verify(signature, document: document).verdict == .valid else {
            throw SM2TestPKIError(message: "the benchmark signature does not verify")
        }
        let signerKey = pki.signer.publicKey, makerKey = pki.maker.publicKey
        let rawVerify = { () throws in
            guard signerKey.isValidSignature(signature.signature, for: signature.signedBytes),
                  makerKey.isValidSignature(seal.makerSignature, for: seal.makerSignedBytes) else {
                throw SM2TestPKIError(message: "a raw verification failed")
            }
        }
        let sesVerify = { () throws in
            guard verifier.verify(signature, document: document).verdict == .valid else {
                throw SM2TestPKIError(message: "the SES verification failed")
            }
        }
        for _ in 0..<20 { try rawVerify(); try sesVerify() }
        let rounds = 20
        let slice = seconds / Double(rounds * 2)
        var raw = (count: 0, elapsed: 0.0), ses = (count: 0, elapsed: 0.0)
        var ratios: [Double] = []
        for _ in 0..<rounds {
            let r = try timed(seconds: slice, rawVerify)
            let s = try timed(seconds: slice, sesVerify)
            raw.count += r.count; raw.elapsed += r.elapsed
            ses.count += s.count; ses.elapsed += s.elapsed
            ratios.append((r.elapsed / Double(r.count)) / (s.elapsed / Double(s.count)))
        }
        let sorted = ratios.sorted()
        print(String(format: "raw SM2 verify x2 (signer + maker, OpenSSL via SealGMCrypto): %8.0f pairs/s   (%d)",
                     Double(raw.count) / raw.elapsed, raw.count))
        print(String(format: "SES_Signature verification (SESVerifier, chains cached):       %8.0f signatures/s (%d)",
                     Double(ses.count) / ses.elapsed, ses.count))
        print(String(format: "SES verify rate / raw pair rate: %.2f, median of %d interleaved rounds (min %.2f, max %.2f; goal >= 0.80)",
                     median(ratios), ratios.count, sorted.first ?? 0, sorted.last ?? 0))
    }

    /// Runs `body` for about `seconds` (in batches of 10) on this thread.
    private static func timed(seconds: Double, _ body: () throws -> Void) throws -> (count: Int, elapsed: Double) {
        var count = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        repeat {
            for _ in 0..<10 { try body() }
            count += 10
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < seconds
        return (count, elapsed)
    }
}
