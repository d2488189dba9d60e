import Crypto
import CryptoExtras
import Foundation

/// The block-cipher work of one open SCP03 session, arranged so that a wrapped APDU costs as few
/// calls into swift-crypto, and as little work around them, as the library allows
/// (docs/benchmarks.md, "The secure channel"). The bytes are those of ``SCP03Cryptography``'s
/// one-operation-per-call functions, which the known-answer tests check; nothing here is
/// cryptography of its own:
///
/// - **Encryption with its ICV in one call.** AES-CBC with a zero IV over
///   `counter block ‖ padded data` outputs AES(counter block) — the ICV — as its first block and
///   then exactly the padded data under AES-CBC with that ICV. Dropping the first block gives
///   GlobalPlatform's ciphertext from one `AES._CBC` call instead of `AES.permute` and `AES._CBC`.
/// - **Decryption with its ICV in the same way.** AES-CBC decryption with a zero IV over
///   `ICV ‖ ciphertext` yields a first block to drop and then each block decrypted and XORed with
///   the block before it — the ICV for the first — which is decryption under that ICV. So every
///   AES-CBC call uses one zero IV built once per session (an `AES._CBC.IV` built per call from
///   bytes cost more than the AES work of a STAMP APDU).
/// - **ICVs for decryption in batches.** The ICVs of consecutive counters are the AES-CTR key
///   stream that starts at the first counter block (`prefix ‖ 00×11 ‖ counter` counts up in its
///   last four bytes), so one `AES._CTR` call over zeros yields the next ``icvBatch`` ICVs.
/// - **CMAC contexts initialised once.** `AES.CMAC` is copy-on-write over BoringSSL's
///   `CMAC_CTX`: the session keeps one context per MAC key, initialised with the key (its key
///   schedule and subkeys), and every MAC starts from one copy of it (`CMAC_CTX_copy`), is fed in
///   two pieces (chaining value and header from a stack buffer, then the data in place) and is
///   finalised by consuming that copy, so that no second copy is made.
/// - **No intermediate buffers.** The cipher's input is assembled in a temporary (stack) buffer,
///   its output copied once into the array the caller keeps, with room for the MAC it appends.
struct SCP03SessionCipher: Sendable {
    /// ICVs computed per `AES._CTR` call.
    static let icvBatch = 32
    /// The longest chaining value plus the longest command header (`CLA INS P1 P2 00 hi lo`).
    private static let macPrefixCapacity = 16 + 7

    private let encryptionKey: SymmetricKey
    private let commandMAC: AES.CMAC
    private let responseMAC: AES.CMAC
    /// Sixteen zero bytes as the library's IV type, the IV of every AES-CBC call.
    private let zeroVector: AES._CBC.IV
    /// Decryption ICVs of commands (`00` prefix) and of responses (`80` prefix).
    private var commandVectors: InitialChainingVectors
    private var responseVectors: InitialChainingVectors

    init(encryptionKey: SymmetricKey, commandMACKey: SymmetricKey, responseMACKey: SymmetricKey) throws(SecureChannelError) {
        do {
            self.encryptionKey = encryptionKey
            commandMAC = try AES.CMAC(key: commandMACKey)
            responseMAC = try AES.CMAC(key: responseMACKey)
            zeroVector = try AES._CBC.IV(ivBytes: SCP03Cryptography.zeroBlock)
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CMAC refused the session key: \(error)")
        }
        commandVectors = InitialChainingVectors(prefix: 0x00)
        responseVectors = InitialChainingVectors(prefix: 0x80)
    }

    // MARK: - Encryption

    /// `data` padded (ISO/IEC 9797-1 method 2) and encrypted under S-ENC with the ICV of
    /// `counter`, in one AES-CBC call.
    ///
    /// - Parameter trailingCapacity: room kept in the returned array for bytes the caller appends
    ///   (the MAC), so that appending them does not reallocate it.
    func encrypt(_ data: [UInt8], counter: UInt32, forResponse: Bool, trailingCapacity: Int = 0) throws(SecureChannelError) -> [UInt8] {
        let blockSize = SCP03Cryptography.blockSize
        let paddedCount = (data.count / blockSize + 1) * blockSize
        let output: Data
        do {
            output = try withUnsafeTemporaryAllocation(byteCount: blockSize + paddedCount, alignment: 16) { input in
                input.initializeMemory(as: UInt8.self, repeating: 0)
                input[0] = forResponse ? 0x80 : 0x00
                Self.storeCounter(counter, into: input, at: 12)
                data.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: input[blockSize..<(blockSize + data.count)]).copyMemory(from: $0) }
                input[blockSize + data.count] = 0x80
                return try AES._CBC.encrypt(UnsafeRawBufferPointer(input), using: encryptionKey, iv: zeroVector, noPadding: true)
            }
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CBC encryption failed: \(error)")
        }
        guard output.count == blockSize + paddedCount else {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CBC returned \(output.count) bytes for \(blockSize + paddedCount)")
        }
        return output.withUnsafeBytes { bytes in
            [UInt8](unsafeUninitializedCapacity: paddedCount + trailingCapacity) { buffer, count in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[blockSize...]))
                count = paddedCount
            }
        }
    }

    /// Decrypts whole blocks under S-ENC with the ICV of `counter` and removes method-2 padding.
    mutating func decrypt(_ ciphertext: ArraySlice<UInt8>, counter: UInt32, forResponse: Bool) throws(SecureChannelError) -> [UInt8] {
        let result = ciphertext.withUnsafeBytes { bytes -> Result<[UInt8], SecureChannelError> in
            do throws(SecureChannelError) {
                return .success(try decrypt(bytes, counter: counter, forResponse: forResponse))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// ``decrypt(_:counter:forResponse:)`` of bytes in place.
    mutating func decrypt(_ ciphertext: UnsafeRawBufferPointer, counter: UInt32, forResponse: Bool) throws(SecureChannelError) -> [UInt8] {
        let blockSize = SCP03Cryptography.blockSize
        guard !ciphertext.isEmpty, ciphertext.count % blockSize == 0 else {
            throw SecureChannelError(code: .malformedWrappedData, reason: "ciphertext of \(ciphertext.count) bytes is not whole AES blocks")
        }
        let vectors = forResponse
            ? try responseVectors.prepare(counter: counter, key: encryptionKey)
            : try commandVectors.prepare(counter: counter, key: encryptionKey)
        let plain: Data
        do {
            plain = try withUnsafeTemporaryAllocation(byteCount: blockSize + ciphertext.count, alignment: 16) { input in
                vectors.stream.withUnsafeBytes {
                    UnsafeMutableRawBufferPointer(rebasing: input[..<blockSize])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[vectors.offset..<(vectors.offset + blockSize)]))
                }
                UnsafeMutableRawBufferPointer(rebasing: input[blockSize...]).copyMemory(from: ciphertext)
                return try AES._CBC.decrypt(UnsafeRawBufferPointer(input), using: encryptionKey, iv: zeroVector, noPadding: true)
            }
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CBC decryption failed: \(error)")
        }
        guard plain.count == blockSize + ciphertext.count else {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CBC returned \(plain.count) bytes for \(blockSize + ciphertext.count)")
        }
        // The first block is AES⁻¹(ICV), the counter block: not data.
        let data: [UInt8]? = plain.withUnsafeBytes { bytes in
            let padded = UnsafeRawBufferPointer(rebasing: bytes[blockSize...])
            guard let count = SCP03Cryptography.unpaddedCount(padded) else { return nil }
            return [UInt8](UnsafeRawBufferPointer(rebasing: padded[..<count]))
        }
        guard let data else {
            throw SecureChannelError(code: .badPadding, reason: "decrypted data does not end in 80 00…")
        }
        return data
    }

    // MARK: - MACs

    /// The full 16-byte C-MAC over `MCV ‖ header ‖ ciphertext`.
    func commandMAC(chainingValue: [UInt8], header: [UInt8], ciphertext: ArraySlice<UInt8>) -> [UInt8] {
        ciphertext.withUnsafeBytes { ciphertext in
            var mac = commandMAC
            chainingValue.withUnsafeBytes { mac.update(bufferPointer: $0) }
            header.withUnsafeBytes { mac.update(bufferPointer: $0) }
            mac.update(bufferPointer: ciphertext)
            return Self.bytes(of: (consume mac).finalize())
        }
    }

    /// The C-MAC over `MCV ‖ CLA INS P1 P2 Lc' ‖ ciphertext` as the library returns it (16 bytes),
    /// Lc' = `wrappedLength` in one byte up to 255 and as `00 hi lo` above; chaining value and
    /// header go to the MAC from one stack buffer.
    func commandTag(chainingValue: [UInt8], cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8, wrappedLength: Int,
                    ciphertext: UnsafeRawBufferPointer) -> AES.CMAC.MAC {
        withMACPrefix(chainingValue, count: wrappedLength <= 255 ? 5 : 7) { prefix in
            prefix[0] = cla
            prefix[1] = ins
            prefix[2] = p1
            prefix[3] = p2
            if wrappedLength <= 255 {
                prefix[4] = UInt8(wrappedLength)
            } else {
                prefix[4] = 0x00
                prefix[5] = UInt8(truncatingIfNeeded: wrappedLength >> 8)
                prefix[6] = UInt8(truncatingIfNeeded: wrappedLength)
            }
        } body: { prefix in
            var mac = commandMAC
            mac.update(bufferPointer: prefix)
            mac.update(bufferPointer: ciphertext)
            return (consume mac).finalize()
        }
    }

    /// The full 16-byte R-MAC over `MCV ‖ ciphertext ‖ SW1 SW2`.
    func responseMAC(chainingValue: [UInt8], ciphertext: ArraySlice<UInt8>, status: StatusWord) -> [UInt8] {
        ciphertext.withUnsafeBytes { Self.bytes(of: responseTag(chainingValue: chainingValue, ciphertext: $0, status: status)) }
    }

    /// The R-MAC over `MCV ‖ ciphertext ‖ SW1 SW2` as the library returns it (16 bytes), for the
    /// caller to compare or append its first bytes without another array.
    func responseTag(chainingValue: [UInt8], ciphertext: UnsafeRawBufferPointer, status: StatusWord) -> AES.CMAC.MAC {
        var mac = responseMAC
        chainingValue.withUnsafeBytes { mac.update(bufferPointer: $0) }
        mac.update(bufferPointer: ciphertext)
        withUnsafeBytes(of: status.rawValue.bigEndian) { mac.update(bufferPointer: $0) }
        return (consume mac).finalize()
    }

    // MARK: - Helpers

    /// Runs `body` over `chainingValue ‖ header`, the header (`headerCount` bytes) written by
    /// `fill`, in a stack buffer.
    private func withMACPrefix<Result>(_ chainingValue: [UInt8], count headerCount: Int,
                                       fill: (UnsafeMutableRawBufferPointer) -> Void,
                                       body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeTemporaryAllocation(byteCount: chainingValue.count + headerCount, alignment: 1) { prefix in
            let split = chainingValue.count
            chainingValue.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: prefix[..<split]).copyMemory(from: $0) }
            fill(UnsafeMutableRawBufferPointer(rebasing: prefix[split...]))
            return body(UnsafeRawBufferPointer(prefix))
        }
    }

    /// The 16 bytes of a MAC as an array.
    static func bytes(of mac: AES.CMAC.MAC) -> [UInt8] {
        mac.withUnsafeBytes { [UInt8]($0) }
    }

    /// Writes `counter` big-endian at `offset`.
    private static func storeCounter(_ counter: UInt32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer[offset] = UInt8(truncatingIfNeeded: counter >> 24)
        buffer[offset + 1] = UInt8(truncatingIfNeeded: counter >> 16)
        buffer[offset + 2] = UInt8(truncatingIfNeeded: counter >> 8)
        buffer[offset + 3] = UInt8(truncatingIfNeeded: counter)
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

    /// Makes sure the batch holds the ICV of `counter`; returns the batch and the ICV's offset in it.
    mutating func prepare(counter: UInt32, key: SymmetricKey) throws(SecureChannelError) -> (stream: [UInt8], offset: Int) {
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
            guard stream.count == blockSize * SCP03SessionCipher.icvBatch else {
                stream = []
                throw SecureChannelError(code: .cryptoFailure, reason: "AES-CTR returned a short key stream")
            }
            firstCounter = counter
        }
        return (stream, Int(counter - firstCounter) * blockSize)
    }
}
