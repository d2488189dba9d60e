import Crypto
import CryptoExtras
import Foundation

/// SCP03 secure messaging at the full level (C-MAC, C-DEC, R-MAC, R-ENC) as a pure value, one per
/// open channel, used by the host to wrap commands and unwrap responses and by the card to unwrap
/// commands and wrap responses (SPEC §14.4).
///
/// Rules both sides follow, byte for byte as GlobalPlatform Amendment D and the known-answer
/// vectors of Fixtures/scp11:
/// - The encryption counter starts at 1 and grows by one for **every** command, with or without
///   data. A command without data is not encrypted (Lc' = 8: the MAC alone).
/// - Command data: ISO/IEC 9797-1 method-2 padding, AES-CBC under S-ENC with
///   ICV = AES(S-ENC, `00`×12 ‖ counter).
/// - C-MAC = AES-CMAC(S-MAC, MCV ‖ CLA|04 INS P1 P2 Lc' ‖ ciphertext), Lc' in one byte up to 255
///   and as `00 hi lo` above; the first 8 bytes travel; all 16 become the next MCV. Le is not MACed.
/// - A response whose status is `9000`, `62xx` or `63xx` is `R' ‖ R-MAC`, where R' is the padded
///   data encrypted under S-ENC with ICV = AES(S-ENC, `80` ‖ `00`×11 ‖ the command's counter),
///   absent when there is no data, and R-MAC = AES-CMAC(S-RMAC, MCV ‖ R' ‖ SW)[0..<8]. The R-MAC does
///   not change the MCV. Any other status word is sent bare: no data, no MAC.
/// - Any failure (MAC, padding, length) closes the session for good: ``isOpen`` turns false and
///   every later call throws ``SecureChannelError/Code-swift.struct/channelClosed``.
public struct SCP03SecureMessaging: Sendable {
    /// Bytes of MAC that travel.
    public static let macLength = 8
    /// The secure-messaging bit a wrapped command sets in CLA.
    public static let secureMessagingBit: UInt8 = 0x04

    /// The session's keyed AES work; nil when the keys given were not AES keys (every operation
    /// then fails with ``SecureChannelError/Code-swift.struct/cryptoFailure``).
    private var cipher: SCP03SessionCipher?
    /// The MAC chaining value: the receipt at first, then each command's full C-MAC.
    public private(set) var macChainingValue: [UInt8]
    /// The counter the next command uses.
    public private(set) var encryptionCounter: UInt32 = 1
    /// The counter of the last command, which its response's ICV uses.
    private var lastCommandCounter: UInt32 = 0
    /// False once any check failed; the channel then carries nothing more.
    public private(set) var isOpen = true

    /// A session from the derived keys, chained from the receipt.
    public init(keys: SCP11SessionKeys, receipt: [UInt8]) {
        self.init(encryptionKey: keys.encryption, commandMACKey: keys.commandMAC, responseMACKey: keys.responseMAC,
                  macChainingValue: receipt)
    }

    /// A session from explicit keys and state (known-answer tests; the `SCP03` sessions of other
    /// protocols start with a zero MCV).
    public init(encryptionKey: SymmetricKey, commandMACKey: SymmetricKey, responseMACKey: SymmetricKey,
                macChainingValue: [UInt8], encryptionCounter: UInt32 = 1) {
        self.cipher = try? SCP03SessionCipher(encryptionKey: encryptionKey, commandMACKey: commandMACKey, responseMACKey: responseMACKey)
        self.macChainingValue = macChainingValue
        self.encryptionCounter = encryptionCounter
    }

    /// Ends the session (SELECT, reset, a failure seen by the caller).
    public mutating func close() {
        isOpen = false
    }

    // MARK: - Host side

    /// Wraps a plain command: CLA | `04`, data encrypted and MACed. The wrapped command always
    /// asks for a response (Le `00`, or extended `0000` when the plain one was extended), since a
    /// successful answer carries at least its R-MAC.
    ///
    /// - Parameter command: the plain command, without the chaining bit (the transport chains
    ///   the wrapped command if it is long).
    public mutating func wrapCommand(_ command: CommandAPDU) throws(SecureChannelError) -> CommandAPDU {
        let cla = command.cla | Self.secureMessagingBit
        let payload = try protect(cla: cla, ins: command.ins, p1: command.p1, p2: command.p2, data: command.data)
        let extended = command.forceExtended || (command.ne ?? 0) > 256 || payload.count > 255
        return CommandAPDU(cla: cla, ins: command.ins, p1: command.p1, p2: command.p2, data: payload,
                           ne: extended ? 65_536 : 256, forceExtended: extended)
    }

    /// Checks and decrypts the response to the last wrapped command.
    ///
    /// - Returns: the plain response (data and status word). An error status word comes back as
    ///   it arrived, without data.
    /// - Throws: ``SecureChannelError`` when a success status comes without a valid R-MAC, an error
    ///   status comes with data, or the data does not decrypt to method-2 padding; the session is then closed.
    public mutating func unwrapResponse(_ response: ResponseAPDU) throws(SecureChannelError) -> ResponseAPDU {
        try requireCipher()
        let status = response.statusWord
        guard Self.isProtected(status) else {
            guard response.data.isEmpty else {
                return try fail(.malformedWrappedData, "an error status word must come without data")
            }
            return response
        }
        guard response.data.count >= Self.macLength else {
            return try fail(.macMismatch, "a \(status) response carries no R-MAC")
        }
        let split = response.data.count - Self.macLength
        // nil: the MAC does not match; a failure: the data does not decrypt.
        let data = response.data.withUnsafeBytes { bytes -> Result<[UInt8], SecureChannelError>? in
            let encrypted = UnsafeRawBufferPointer(rebasing: bytes[..<split])
            let tag = cipher?.responseTag(chainingValue: macChainingValue, ciphertext: encrypted, status: status)
            let matches = tag?.withUnsafeBytes { expected in
                SCP03Cryptography.constantTimeEqual(UnsafeRawBufferPointer(rebasing: expected.prefix(Self.macLength)),
                                                    UnsafeRawBufferPointer(rebasing: bytes[split...]))
            }
            guard matches == true else { return nil }
            guard !encrypted.isEmpty else { return .success([]) }
            return decrypt(encrypted, counter: lastCommandCounter, forResponse: true)
        }
        guard let data else {
            return try fail(.macMismatch, "the response MAC does not match")
        }
        do throws(SecureChannelError) {
            return ResponseAPDU(data: try data.get(), statusWord: status)
        } catch {
            isOpen = false
            throw error
        }
    }

    // MARK: - Card side

    /// Checks and decrypts a wrapped command (the whole logical command, chain already joined).
    ///
    /// - Parameters:
    ///   - cla: the class byte as received (with `04`, without the chaining bit).
    ///   - ins: the instruction byte.
    ///   - p1: parameter 1.
    ///   - p2: parameter 2.
    ///   - data: the command data: ciphertext ‖ 8-byte C-MAC.
    /// - Returns: the plain command data.
    /// - Throws: ``SecureChannelError`` on a MAC mismatch (a changed, replayed or reordered
    ///   command), bad length or bad padding; the session is then closed.
    public mutating func unwrapCommand(cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8]) throws(SecureChannelError) -> [UInt8] {
        try requireCipher()
        guard data.count >= Self.macLength, (data.count - Self.macLength) % SCP03Cryptography.blockSize == 0 else {
            return try fail(.malformedWrappedData, "wrapped data of \(data.count) bytes is not blocks and a MAC")
        }
        let split = data.count - Self.macLength
        // nil: the MAC does not match; a failure: the counter is exhausted or the data does not decrypt.
        let plain = data.withUnsafeBytes { bytes -> Result<[UInt8], SecureChannelError>? in
            let encrypted = UnsafeRawBufferPointer(rebasing: bytes[..<split])
            guard let fullMAC = cipher?.commandTag(chainingValue: macChainingValue, cla: cla, ins: ins, p1: p1, p2: p2,
                                                   wrappedLength: data.count, ciphertext: encrypted),
                  fullMAC.withUnsafeBytes({ expected in
                      SCP03Cryptography.constantTimeEqual(UnsafeRawBufferPointer(rebasing: expected.prefix(Self.macLength)),
                                                          UnsafeRawBufferPointer(rebasing: bytes[split...]))
                  }) else { return nil }
            let counter: UInt32
            do throws(SecureChannelError) {
                counter = try takeCounter()
            } catch {
                return .failure(error)
            }
            setChainingValue(fullMAC)
            guard !encrypted.isEmpty else { return .success([]) }
            return decrypt(encrypted, counter: counter, forResponse: false)
        }
        guard let plain else {
            return try fail(.macMismatch, "the command MAC does not match")
        }
        do throws(SecureChannelError) {
            return try plain.get()
        } catch {
            isOpen = false
            throw error
        }
    }

    /// Wraps the response to the last unwrapped command: for `9000`, `62xx` and `63xx` the
    /// encrypted data and the R-MAC; for any other status word nothing (the status travels bare).
    ///
    /// - Returns: the response data field to send before the status word.
    public func wrapResponse(data: [UInt8], status: StatusWord) throws(SecureChannelError) -> [UInt8] {
        try requireCipher()
        guard Self.isProtected(status) else { return [] }
        guard var wrapped = data.isEmpty ? [] : try cipher?.encrypt(data, counter: lastCommandCounter, forResponse: true,
                                                                     trailingCapacity: Self.macLength),
              let tag = wrapped.withUnsafeBytes({ cipher?.responseTag(chainingValue: macChainingValue, ciphertext: $0, status: status) })
        else { throw Self.notAESKeys }
        tag.withUnsafeBytes { wrapped.append(contentsOf: $0.prefix(Self.macLength)) }
        return wrapped
    }

    // MARK: - Shared

    /// Whether a response with this status word is protected (`9000`, `62xx`, `63xx`).
    public static func isProtected(_ status: StatusWord) -> Bool {
        status == .success || status.sw1 == 0x62 || status.sw1 == 0x63
    }

    /// The bytes of the wrapped length of data a wrapped command carries when its plain data is
    /// `plainLength` bytes: the padded ciphertext (none without data) and the MAC.
    public static func wrappedLength(plainLength: Int) -> Int {
        (plainLength == 0 ? 0 : (plainLength / 16 + 1) * 16) + macLength
    }

    /// Encrypts and MACs on the host; returns the wrapped data.
    private mutating func protect(cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8]) throws(SecureChannelError) -> [UInt8] {
        try requireCipher()
        let counter = try takeCounter()
        guard var wrapped = data.isEmpty ? [] : try cipher?.encrypt(data, counter: counter, forResponse: false,
                                                                     trailingCapacity: Self.macLength),
              let fullMAC = wrapped.withUnsafeBytes({
                  cipher?.commandTag(chainingValue: macChainingValue, cla: cla, ins: ins, p1: p1, p2: p2,
                                     wrappedLength: wrapped.count + Self.macLength, ciphertext: $0)
              }) else { throw Self.notAESKeys }
        setChainingValue(fullMAC)
        fullMAC.withUnsafeBytes { wrapped.append(contentsOf: $0.prefix(Self.macLength)) }
        return wrapped
    }

    private mutating func takeCounter() throws(SecureChannelError) -> UInt32 {
        guard encryptionCounter < UInt32.max else {
            return try fail(.counterExhausted, "the encryption counter is exhausted")
        }
        lastCommandCounter = encryptionCounter
        encryptionCounter += 1
        return lastCommandCounter
    }

    /// The MCV becomes a command's full C-MAC, written over the old one when this session holds
    /// it alone (no array allocated per command).
    private mutating func setChainingValue(_ mac: AES.CMAC.MAC) {
        mac.withUnsafeBytes { bytes in
            if macChainingValue.count == bytes.count {
                macChainingValue.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
            } else {
                macChainingValue = [UInt8](bytes)
            }
        }
    }

    /// Decrypts with the session's cipher in place.
    private mutating func decrypt(_ ciphertext: UnsafeRawBufferPointer, counter: UInt32, forResponse: Bool) -> Result<[UInt8], SecureChannelError> {
        do throws(SecureChannelError) {
            guard let plain = try cipher?.decrypt(ciphertext, counter: counter, forResponse: forResponse) else {
                return .failure(Self.notAESKeys)
            }
            return .success(plain)
        } catch {
            return .failure(error)
        }
    }

    /// Throws unless the session is open and its keys are AES keys. The cipher itself is used in
    /// place (`cipher?.…`): a copy would retain its keys and buffers for nothing.
    private func requireCipher() throws(SecureChannelError) {
        guard isOpen else { throw SecureChannelError(code: .channelClosed, reason: "the secure channel is closed") }
        guard cipher != nil else { throw Self.notAESKeys }
    }

    private static var notAESKeys: SecureChannelError {
        SecureChannelError(code: .cryptoFailure, reason: "the session keys are not AES keys")
    }

    private mutating func fail<T>(_ code: SecureChannelError.Code, _ reason: String) throws(SecureChannelError) -> T {
        isOpen = false
        throw SecureChannelError(code: code, reason: reason)
    }
}
