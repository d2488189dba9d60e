import Crypto
import Foundation
import SealHostDriver
import SealProtocol
import Testing

/// RFC 3161 timestamp tokens over a stamp signature, against `openssl ts` as the TSA and as an
/// independent verifier (Fixtures/test-tsa).
@Suite("RFC 3161 timestamp token")
struct RFC3161TimestampTests {
    @Test("our query, answered by openssl ts -reply, gives a token we verify, with its time bound")
    func ourQueryOpenSSLReply() async throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        let before = Date().addingTimeInterval(-2)
        let nonce: [UInt8] = [0x81, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]  // top bit set: a leading zero on the wire
        let reply = try TestTSA.reply(to: RFC3161TimestampToken.request(for: record.signature, nonce: nonce))
        let token = try RFC3161TimestampToken(timeStampResponse: reply)
        #expect(token.imprintMatches(record.signature))
        #expect(token.nonce == nonce)
        #expect(token.verifySignature() == nil)
        #expect(await token.verifyTSA(roots: [try TestTSA.root]) == nil)
        #expect(token.generationTime >= before && token.generationTime <= Date().addingTimeInterval(2))

        record.timestampToken = token.derEncoded
        var verifier = fixture.verifier
        verifier.timestampRoots = [try TestTSA.root]
        let report = await verifier.verify(try StampRecord(jsonData: try record.jsonData()), document: fixture.document,
                                           options: fixture.fullOptions)
        #expect(report.isValid, "\(report)")
        #expect(report.timestampBound == token.generationTime)
        #expect(report.check(.timestampAuthority)?.detail.contains("the stamp existed before") == true)
    }

    @Test("openssl's own query and reply give a token we verify")
    func openSSLQueryAndReply() async throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        let work = try TestTSA.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        try Data(record.signature).write(to: work.appendingPathComponent("signature.bin"))
        let query = try TestTSA.run(["ts", "-query", "-data", "signature.bin", "-sha256", "-cert", "-out", "query.tsq"], in: work)
        #expect(query.status == 0, "\(query.output)")
        let reply = try TestTSA.reply(to: Array(try Data(contentsOf: work.appendingPathComponent("query.tsq"))))
        record.timestampToken = try RFC3161TimestampToken(timeStampResponse: reply).derEncoded
        var verifier = fixture.verifier
        try verifier.trustTimestampAuthorities(try TestTSA.rootPEM)
        let report = await verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(report.isValid && report.timestampBound != nil, "\(report)")
    }

    @Test("openssl ts -verify accepts the token a record carries, against the stamp signature")
    func openSSLVerifiesOurToken() throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        record.timestampToken = try TestTSA.token(for: record.signature)
        let carried = try StampRecord(jsonData: try record.jsonData())
        let work = try TestTSA.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        try Data(carried.timestampToken ?? []).write(to: work.appendingPathComponent("token.der"))
        try Data(carried.signature).write(to: work.appendingPathComponent("signature.bin"))
        let root = TestTSA.directory.appendingPathComponent("root-cert.pem").path
        let accepted = try TestTSA.run(["ts", "-verify", "-token_in", "-in", "token.der", "-data", "signature.bin", "-CAfile", root], in: work)
        #expect(accepted.status == 0 && accepted.output.contains("Verification: OK"), "\(accepted.output)")
        try Data(carried.signature.flipping(at: 0)).write(to: work.appendingPathComponent("other.bin"))
        let refused = try TestTSA.run(["ts", "-verify", "-token_in", "-in", "token.der", "-data", "other.bin", "-CAfile", root], in: work)
        #expect(refused.status != 0, "openssl must refuse the token for another signature")
    }

    @Test("the token is outside the canonical bytes and round-trips through the JSON")
    func tokenOutsideCanonicalBytes() throws {
        let fixture = try StampFixture()
        let plain = try fixture.record()
        var stamped = plain
        stamped.timestampToken = try TestTSA.token(for: plain.signature)
        #expect(stamped.canonicalBytes == plain.canonicalBytes)
        let decoded = try StampRecord(jsonData: try stamped.jsonData())
        #expect(decoded.timestampToken == stamped.timestampToken)
        #expect(try StampRecord(jsonData: try plain.jsonData()).timestampToken == nil)
        #expect(!String(decoding: try plain.jsonData(), as: UTF8.self).contains("timestampToken"))
    }

    @Test("a TSA with an RSA key (as most public TSAs have) is verified too")
    func rsaTSA() async throws {
        let fixture = try StampFixture()
        var record = try fixture.record()
        let work = try TestTSA.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let steps: [[String]] = [
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root-key.pem"],
            ["req", "-new", "-x509", "-key", "root-key.pem", "-sha256", "-days", "2", "-subj", "/CN=RSA TSA Test Root",
             "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign", "-out", "root-cert.pem"],
            ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa-key.pem", "-subj", "/CN=RSA TSA", "-out", "tsa.csr"],
        ]
        for step in steps {
            let result = try TestTSA.run(step, in: work)
            #expect(result.status == 0, "\(step): \(result.output)")
        }
        try Data("basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n".utf8)
            .write(to: work.appendingPathComponent("ext.cnf"))
        let signed = try TestTSA.run(["x509", "-req", "-in", "tsa.csr", "-CA", "root-cert.pem", "-CAkey", "root-key.pem", "-set_serial", "7",
                                      "-days", "2", "-sha256", "-extfile", "ext.cnf", "-out", "tsa-cert.pem"], in: work)
        #expect(signed.status == 0, "\(signed.output)")
        try Data(RFC3161TimestampToken.request(for: record.signature, nonce: [1, 2, 3])).write(to: work.appendingPathComponent("q.tsq"))
        let reply = try TestTSA.run(["ts", "-reply", "-config", TestTSA.directory.appendingPathComponent("tsa.cnf").path,
                                     "-queryfile", "q.tsq", "-signer", "tsa-cert.pem", "-inkey", "tsa-key.pem", "-out", "r.tsr"], in: work)
        #expect(reply.status == 0, "\(reply.output)")
        let token = try RFC3161TimestampToken(timeStampResponse: Array(try Data(contentsOf: work.appendingPathComponent("r.tsr"))))
        #expect(token.verifySignature() == nil)
        record.timestampToken = token.derEncoded
        var verifier = fixture.verifier
        try verifier.trustTimestampAuthorities(Array(try Data(contentsOf: work.appendingPathComponent("root-cert.pem"))))
        let report = await verifier.verify(record, document: fixture.document, options: fixture.fullOptions)
        #expect(report.isValid && report.timestampBound != nil, "\(report)")
    }

    @Test("a refused request, a reply without a token and garbage are errors")
    func refusedReplies() throws {
        // TimeStampResp { status { rejection (2) } }
        #expect(throws: SealDriverError.self) { try RFC3161TimestampToken(timeStampResponse: [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]) }
        // granted, but no token
        #expect(throws: SealDriverError.self) { try RFC3161TimestampToken(timeStampResponse: [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00]) }
        #expect(throws: SealDriverError.self) { try RFC3161TimestampToken(derEncoded: [0x30, 0x00]) }
    }
}
