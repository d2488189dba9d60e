import Foundation
import SealGMCrypto
import SealTestSupport
import Testing

/// `SM2Signer` keeps its OpenSSL objects (the key's signing context, SM3, one digest context) from
/// one signature to the next: every signature it makes, in any order of lengths, from any number
/// of tasks, must verify under OpenSSL over exactly its own message.
@Suite struct SM2SignerTests {
    @Test func reusedContextsSignEachMessageAlone() throws {
        let key = try SM2PrivateKey()
        let publicKey = try key.publicKey
        let signer = try SM2Signer(key: key)
        // Long, short, empty, long again: a digest context that kept anything of the previous
        // message would sign another e, which verifies over neither message.
        let lengths = [4096, 1, 0, 219, 64, 65, 4096, 219]
        var seen = Set<[UInt8]>()
        for (index, length) in lengths.enumerated() {
            let message = [UInt8](repeating: UInt8(index), count: length)
            let signature = try signer.signature(for: message)
            #expect(SM2Signature.isDER(signature))
            #expect(signature.count <= 72)
            #expect(publicKey.isValidSignature(signature, for: message))
            #expect(!publicKey.isValidSignature(signature, for: message + [0]))
            #expect(publicKey.isValidSignature(signature, forDigest: try publicKey.signedDigest(for: message)))
            seen.insert(signature)
        }
        // A fresh k per signature: no two equal.
        #expect(seen.count == lengths.count)
    }

    @Test func collectionsWithoutContiguousStorageSignTheirElements() throws {
        let key = try SM2PrivateKey()
        let signer = try SM2Signer(key: key)
        let bytes = (0..<300).lazy.map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let signature = try signer.signature(for: bytes)
        #expect(try key.publicKey.isValidSignature(signature, for: Array(bytes)))
        let slice = Array(bytes)[10..<250]
        #expect(try key.publicKey.isValidSignature(try signer.signature(for: slice), for: Array(slice)))
    }

    @Test func oneSignerSignsFromManyTasks() async throws {
        let key = try SM2PrivateKey()
        let publicKey = try key.publicKey
        let signer = try SM2Signer(key: key)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<4 {
                group.addTask {
                    var allValid = true
                    for index in 0..<20 {
                        let message = [UInt8](repeating: UInt8(task), count: 100 + index)
                        let signature = try signer.signature(for: message)
                        if !publicKey.isValidSignature(signature, for: message) { allValid = false }
                    }
                    return allValid
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == [true, true, true, true])
    }

    @Test(.enabled(if: OpenSSLCommandLine.isAvailable))
    func openSSLCommandLineVerifiesTheSignersSignatures() throws {
        let directory = try OpenSSLCommandLine.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = try SM2PrivateKey()
        let signer = try SM2Signer(key: key)
        let message = [UInt8](repeating: 0x5A, count: 219)
        _ = try signer.signature(for: [UInt8](repeating: 1, count: 1000))  // a previous message in the context
        try Data(key.publicKey.pemRepresentation.utf8).write(to: directory.appendingPathComponent("public.pem"))
        try Data(message).write(to: directory.appendingPathComponent("message"))
        try Data(signer.signature(for: message)).write(to: directory.appendingPathComponent("signature.der"))
        let verified = try OpenSSLCommandLine.run(["dgst", "-sm3", "-verify", "public.pem", "-sigopt", "distid:1234567812345678",
                                                   "-signature", "signature.der", "message"], in: directory)
        #expect(verified.status == 0 && verified.output.contains("Verified OK"), "\(verified.output)")
    }
}
