import Crypto
import CryptoExtras
import Foundation

/// The block-cipher operations of SCP03 secure messaging (GlobalPlatform Amendment D), each one
/// call into swift-crypto: AES-CMAC, AES-ECB of one block (the ICV), AES-CBC without padding, and
/// ISO/IEC 9797-1 padding method 2.
enum SCP03Cryptography {
    static let blockSize = 16

    /// AES-CMAC, full 16 bytes.
    static func cmac(key: SymmetricKey, _ message: [UInt8]) throws(SecureChannelError) -> [UInt8] {
        do {
            var mac = try AES.CMAC(key: key)
            mac.update(data: message)
            return Array(mac.finalize())
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CMAC failed: \(error)")
        }
    }

    /// The ICV: AES-ECB under S-ENC of `prefix ‖ 00…00 ‖ uint32_be(counter)`, where the prefix is
    /// `00` for commands and `80` for responses.
    static func initialChainingVector(key: SymmetricKey, counter: UInt32, forResponse: Bool) throws(SecureChannelError) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: blockSize)
        block[0] = forResponse ? 0x80 : 0x00
        writeCounter(counter, into: &block, at: 12)
        do {
            try AES.permute(&block, key: key)
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES block encryption failed: \(error)")
        }
        return block
    }

    /// AES-CBC without padding (`plaintext` is a whole number of blocks).
    static func encrypt(_ plaintext: [UInt8], key: SymmetricKey, iv: [UInt8]) throws(SecureChannelError) -> [UInt8] {
        do {
            return Array(try AES._CBC.encrypt(plaintext, using: key, iv: AES._CBC.IV(ivBytes: iv), noPadding: true))
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CBC encryption failed: \(error)")
        }
    }

    /// AES-CBC decryption without padding; `ciphertext` must be a non-empty whole number of blocks.
    static func decrypt(_ ciphertext: [UInt8], key: SymmetricKey, iv: [UInt8]) throws(SecureChannelError) -> [UInt8] {
        guard !ciphertext.isEmpty, ciphertext.count % blockSize == 0 else {
            throw SecureChannelError(code: .malformedWrappedData, reason: "ciphertext of \(ciphertext.count) bytes is not whole AES blocks")
        }
        do {
            return Array(try AES._CBC.decrypt(ciphertext, using: key, iv: AES._CBC.IV(ivBytes: iv), noPadding: true))
        } catch {
            throw SecureChannelError(code: .cryptoFailure, reason: "AES-CBC decryption failed: \(error)")
        }
    }

    /// ISO/IEC 9797-1 method 2: `80` then `00`s up to the next multiple of 16 (always adds a byte).
    static func pad(_ data: [UInt8]) -> [UInt8] {
        var padded = data + [0x80]
        while padded.count % blockSize != 0 { padded.append(0x00) }
        return padded
    }

    /// Removes method-2 padding: trailing `00`s, then a required `80`, all within the last block.
    static func unpad<Bytes: RandomAccessCollection<UInt8>>(_ data: Bytes) throws(SecureChannelError) -> [UInt8] {
        var end = data.count
        func byte(_ offset: Int) -> UInt8 { data[data.index(data.startIndex, offsetBy: offset)] }
        while end > 0, byte(end - 1) == 0x00, data.count - end < blockSize { end -= 1 }
        guard end > 0, byte(end - 1) == 0x80, data.count - end < blockSize else {
            throw SecureChannelError(code: .badPadding, reason: "decrypted data does not end in 80 00…")
        }
        return Array(data.prefix(end - 1))
    }

    /// The length of `data` without its method-2 padding (the rule of ``unpad(_:)``), or nil when
    /// it does not end in `80 00…` within its last block.
    static func unpaddedCount(_ data: UnsafeRawBufferPointer) -> Int? {
        var end = data.count
        while end > 0, data[end - 1] == 0x00, data.count - end < blockSize { end -= 1 }
        guard end > 0, data[end - 1] == 0x80, data.count - end < blockSize else { return nil }
        return end - 1
    }

    /// Sixteen zero bytes: the IV of the one-call CBC that yields the ICV (``SCP03SessionCipher``).
    static let zeroBlock = [UInt8](repeating: 0, count: blockSize)

    /// Writes `counter` big-endian into `block[offset..<offset + 4]`.
    static func writeCounter(_ counter: UInt32, into block: inout [UInt8], at offset: Int) {
        block[offset] = UInt8(truncatingIfNeeded: counter >> 24)
        block[offset + 1] = UInt8(truncatingIfNeeded: counter >> 16)
        block[offset + 2] = UInt8(truncatingIfNeeded: counter >> 8)
        block[offset + 3] = UInt8(truncatingIfNeeded: counter)
    }

    /// Compares two MACs in time independent of where they differ.
    static func constantTimeEqual<Lhs: Collection<UInt8>, Rhs: Collection<UInt8>>(_ lhs: Lhs, _ rhs: Rhs) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }
}
