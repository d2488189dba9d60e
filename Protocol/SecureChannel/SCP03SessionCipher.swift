import Crypto
import CryptoExtras
import Foundation

/// The block-cipher work of one open SCP03 session, arranged so that a wrapped APDU costs as few
/// calls into swift-crypto as the library allows (docs/benchmarks.md, "The secure channel"). The
/// bytes are those of ``SCP03Cryptography``'s one-operation-per-call functions, which the
/// known-answer tests check; nothing here is cryptography of its own:
///
/// - **Encryption with its ICV in one call.** AES-CBC with a zero IV over
///   `counter block ‖ padded data` outputs AES(counter block) — the ICV — as its first block and
///   then exactly the padded data under AES-CBC with that ICV. Dropping the first block gives
///   GlobalPlatform's ciphertext from one `AES._CBC` call instead of `AES.permute` and `AES._CBC`.
/// - **ICVs for decryption in batches.** The ICVs of consecutive counters are the AES-CTR key
///   stream that starts at the first counter block (`prefix ‖ 00×11 ‖ counter` counts up in its
///   last four bytes), so one `AES._CTR` call over zeros yields the next ``icvBatch`` ICVs.
/// - **CMAC contexts initialised once.** `AES.CMAC` is copy-on-write over BoringSSL's
///   `CMAC_CTX`: the session keeps one context per MAC key, initialised with the key (its key
///   schedule and subkeys), and every MAC starts from a copy of it (`CMAC_CTX_copy`) and is fed in
///   pieces instead of over a concatenated buffer.
struct SCP03SessionCipher: Sendable {
    /// ICVs computed per `AES._CTR` call.
    static let icvBatch = 32

    private let encryptionKey: SymmetricKey
    private let commandMAC: AES.CMAC
    private let responseMAC: AES.CMAC
    /// Decryption ICVs of commands (`00` prefix) and of responses (`80` prefix).
    private var commandVectors: InitialChainingVectors
    private var responseVectors: InitialChainingVectors

    init(encryptionKey: SymmetricKey, commandMACKey: SymmetricKey, responseMACKey: SymmetricKey) throws(SecureChannelError) {
        do {
            self.encryptionKey = encryptionKey
            commandMAC = try AES.CMAC(key: commandMACKey)
            responseMAC = try AES.CMAC(key: responseMACKey)
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CMAC refused the session key: \(error)")
        }
        commandVectors = InitialChainingVectors(prefix: 0x00)
        responseVectors = InitialChainingVectors(prefix: 0x80)
    }

    /// `data` padded (ISO/IEC 9797-1 method 2) and encrypted under S-ENC with the ICV of
    /// `counter`, in one AES-CBC call.
    func encrypt(_ data: [UInt8], counter: UInt32, forResponse: Bool) throws(SecureChannelError) -> [UInt8] {
        let blockSize = SCP03Cryptography.blockSize
        let paddedCount = (data.count / blockSize + 1) * blockSize
        var input = [UInt8](repeating: 0, count: blockSize + paddedCount)
        input[0] = forResponse ? 0x80 : 0x00
        SCP03Cryptography.writeCounter(counter, into: &input, at: 12)
        input.replaceSubrange(blockSize..<(blockSize + data.count), with: data)
        input[blockSize + data.count] = 0x80
        let output: Data
        do {
            output = try AES._CBC.encrypt(input, using: encryptionKey, iv: AES._CBC.IV(ivBytes: SCP03Cryptography.zeroBlock), noPadding: true)
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CBC encryption failed: \(error)")
        }
        return output.withUnsafeBytes { Array($0[blockSize...]) }
    }

    /// Decrypts whole blocks under S-ENC with the ICV of `counter` and removes method-2 padding.
    mutating func decrypt(_ ciphertext: ArraySlice<UInt8>, counter: UInt32, forResponse: Bool) throws(SecureChannelError) -> [UInt8] {
        guard !ciphertext.isEmpty, ciphertext.count % SCP03Cryptography.blockSize == 0 else {
            throw SecureChannelError(code: .malformedWrappedData, reason: "ciphertext of \(ciphertext.count) bytes is not whole AES blocks")
        }
        let iv = forResponse
            ? try responseVectors.vector(counter: counter, key: encryptionKey)
            : try commandVectors.vector(counter: counter, key: encryptionKey)
        let plain: Data
        do {
            plain = try AES._CBC.decrypt(ciphertext, using: encryptionKey, iv: iv, noPadding: true)
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CBC decryption failed: \(error)")
        }
        return try SCP03Cryptography.unpad(plain.withUnsafeBytes { Array($0) })
    }

    /// The full 16-byte C-MAC over `MCV ‖ header ‖ ciphertext`.
    func commandMAC(chainingValue: [UInt8], header: [UInt8], ciphertext: ArraySlice<UInt8>) -> [UInt8] {
        var mac = commandMAC
        // `update(bufferPointer:)`: the generic `update(data:)` walks `DataProtocol.regions`
        // unspecialised, which cost more than the MAC itself (perf, docs/benchmarks.md).
        chainingValue.withUnsafeBytes { mac.update(bufferPointer: $0) }
        header.withUnsafeBytes { mac.update(bufferPointer: $0) }
        ciphertext.withUnsafeBytes { mac.update(bufferPointer: $0) }
        return mac.finalize().withUnsafeBytes { Array($0) }
    }

    /// The full 16-byte R-MAC over `MCV ‖ ciphertext ‖ SW1 SW2`.
    func responseMAC(chainingValue: [UInt8], ciphertext: ArraySlice<UInt8>, status: StatusWord) -> [UInt8] {
        var mac = responseMAC
        chainingValue.withUnsafeBytes { mac.update(bufferPointer: $0) }
        ciphertext.withUnsafeBytes { mac.update(bufferPointer: $0) }
        withUnsafeBytes(of: status.rawValue.bigEndian) { mac.update(bufferPointer: $0) }
        return mac.finalize().withUnsafeBytes { Array($0) }
    }
}

/// The ICVs of one direction, computed ``SCP03SessionCipher/icvBatch`` counters at a time as the
/// AES-CTR key stream from the first counter block (see ``SCP03SessionCipher``).
private struct InitialChainingVectors: Sendable {
    let prefix: UInt8
    /// The counter of the first ICV in `stream`.
    private var firstCounter: UInt32 = 0
    /// `icvBatch` ICVs of 16 bytes, or none yet.
    private var stream: [UInt8] = []

    init(prefix: UInt8) {
        self.prefix = prefix
    }

    mutating func vector(counter: UInt32, key: SymmetricKey) throws(SecureChannelError) -> AES._CBC.IV {
        let blockSize = SCP03Cryptography.blockSize
        if stream.isEmpty || counter < firstCounter || UInt64(counter) - UInt64(firstCounter) >= UInt64(SCP03SessionCipher.icvBatch) {
            var first = [UInt8](repeating: 0, count: blockSize)
            first[0] = prefix
            SCP03Cryptography.writeCounter(counter, into: &first, at: 12)
            do {
                let keyStream = try AES._CTR.encrypt([UInt8](repeating: 0, count: blockSize * SCP03SessionCipher.icvBatch), using: key,
                                                     nonce: AES._CTR.Nonce(nonceBytes: first))
                stream = Array(keyStream)
            } catch {
                throw SecureChannelError(code: .cryptoFailure, reason: "AES-CTR failed: \(error)")
            }
            firstCounter = counter
        }
        let offset = Int(counter - firstCounter) * blockSize
        do {
            return try AES._CBC.IV(ivBytes: stream[offset..<(offset + blockSize)])
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CBC refused the ICV: \(error)")
        }
    }
}
