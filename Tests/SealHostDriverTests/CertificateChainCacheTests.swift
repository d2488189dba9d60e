import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import Testing
import X509

/// The verifier's chain cache may only ever save work: whatever it holds, a certificate that
/// uncached validation refuses is refused.
@Suite("StampVerifier's certificate chain cache")
struct CertificateChainCacheTests {
    /// The outcome of each check, for comparing a warm verifier's report with a fresh one's.
    private func outcomes(_ report: StampVerificationReport) -> [String] {
        report.checks.map { "\($0.id.rawValue)=\($0.outcome.rawValue)" }
    }

    @Test func aCachedGoodChainDoesNotVouchForAnotherLeafWithTheSameIssuerName() async throws {
        let fixture = try StampFixture()
        let verifier = fixture.verifier
        let good = try fixture.record()
        let first = await verifier.verify(good, document: fixture.document, options: fixture.fullOptions)
        #expect(first.isValid, "\(first)")
        #expect(verifier.chainCache.count == 1)
        // The same record again is answered from the cache, with the same detail.
        let again = await verifier.verify(good, document: fixture.document, options: fixture.fullOptions)
        #expect(again.isValid)
        #expect(again.check(.deviceCertificateChain)?.detail == first.check(.deviceCertificateChain)?.detail)
        #expect(verifier.chainCache.chain(for: fixture.deviceCertificate, at: StampFixture.now) != nil)

        // 1. The good leaf with its signature damaged: the same issuer, subject and key, other bytes.
        let damaged = fixture.deviceCertificate.flipping(at: -1)
        #expect((try? Certificate(derEncoded: damaged)) != nil, "still parses: only the signature is wrong")
        // 2. A leaf for the same chip and key signed by an impostor CA whose name is the real root's.
        let impostor = try TestCA()
        #expect(impostor.name == fixture.ca.name)
        let forged = try impostor.deviceCertificate(serialNumber: hexString(fixture.chipID), publicKey: fixture.deviceKey.publicKey)
        for certificate in [damaged, forged] {
            var parameters = StampFixture.Parameters()
            parameters.deviceCertificate = certificate
            let record = try fixture.record(parameters)
            let warm = await verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
            let cold = await fixture.verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
            #expect(!warm.isValid)
            #expect(warm.check(.deviceCertificateChain)?.outcome == .failed, "\(warm)")
            #expect(outcomes(warm) == outcomes(cold))
        }
        // Failures are not cached; the good chain still is.
        #expect(verifier.chainCache.count == 1)
        #expect(await verifier.verify(good, document: fixture.document, options: fixture.fullOptions).isValid)
    }

    @Test func aCachedChainIsNotTrustedOutsideItsValidityPeriod() async throws {
        let fixture = try StampFixture()
        let verifier = fixture.verifier
        let record = try fixture.record()
        #expect(await verifier.verify(record, document: fixture.document, options: fixture.fullOptions).isValid)
        // After the certificates expire (TestCA.notAfter) and before they begin, the chain is
        // validated again, and fails as it does uncached.
        for time in [TestCA.notAfter.addingTimeInterval(1), TestCA.notBefore.addingTimeInterval(-1)] {
            var options = fixture.fullOptions
            options.now = time
            #expect(verifier.chainCache.chain(for: fixture.deviceCertificate, at: time) == nil)
            let warm = await verifier.verify(record, document: fixture.document, options: options)
            let cold = await fixture.verifier.verify(record, document: fixture.document, options: options)
            #expect(warm.check(.deviceCertificateChain)?.outcome == .failed, "\(warm)")
            #expect(outcomes(warm) == outcomes(cold))
        }
    }

    @Test func aCacheBelongsToItsRoots() async throws {
        let fixture = try StampFixture()
        let record = try fixture.record()
        let trusting = fixture.verifier
        #expect(await trusting.verify(record, document: fixture.document, options: fixture.fullOptions).isValid)
        // Another verifier, trusting another root (same name, other key), has its own cache.
        let other = StampVerifier(trustedRoots: [try TestCA().certificate])
        let report = await other.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(report.check(.deviceCertificateChain)?.outcome == .failed)
        #expect(other.chainCache.count == 0)
        // Copies of a verifier share its cache (same roots).
        let copy = trusting
        #expect(copy.chainCache.chain(for: fixture.deviceCertificate, at: StampFixture.now) != nil)
    }

    @Test func concurrentVerificationsAgreeAndTheCacheStaysBounded() async throws {
        let fixture = try StampFixture()
        let verifier = fixture.verifier
        let records = try (1...16).map { counter in
            var parameters = StampFixture.Parameters()
            parameters.counter = UInt32(counter)
            return try fixture.record(parameters)
        }
        let valid = await withTaskGroup(of: Bool.self) { group in
            for record in records {
                group.addTask { await verifier.verify(record, document: fixture.document, options: StampVerificationOptions(now: StampFixture.now)).isValid }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(valid)
        #expect(verifier.chainCache.count == 1)

        let small = CertificateChainCache(trustedRoots: [fixture.ca.certificate], intermediates: [], capacity: 2)
        let chain = [try Certificate(derEncoded: fixture.deviceCertificate), fixture.ca.certificate]
        for n in 0..<5 { small.store([UInt8(n)], chain: chain, detail: "chain \(n)") }
        #expect(small.count <= 2)
        #expect(small.chain(for: [4], at: StampFixture.now)?.detail == "chain 4")
    }
}
