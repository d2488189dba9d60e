import Crypto
import SealProtocol

extension SealToken {
    /// Whether a secure channel is open, and which: `SCP11Variant.b` for the holder's,
    /// `SCP11Variant.a` for the issuer's.
    public var secureChannelVariant: SCP11Variant? { channel?.variant }

    /// Opens the holder's SCP11b channel (SPEC §14.3): reads the key-agreement certificate,
    /// validates it, runs the key agreement and checks the receipt. Commands go wrapped from here
    /// until SELECT, reset, or a failure.
    public func openHolderChannel() async throws {
        try await exclusively {
            try requireConnected()
            try await openChannel(.b, issuerKeyAgreement: nil)
        }
    }

    /// Opens the issuer's SCP11a channel with the issuer's key: the chip derives the session keys
    /// from the issuer public key installed at manufacture, so only the issuer-key holder can
    /// use the channel. Replaces the holder channel; PERSONALIZE and SET LIFECYCLE then run in it.
    public func openIssuerChannel(using issuer: any IssuerKeyAgreement) async throws {
        try await exclusively {
            try requireConnected()
            try await openChannel(.a, issuerKeyAgreement: issuer)
        }
    }

    /// The handshake inside an exclusive section.
    func openChannel(_ variant: SCP11Variant, issuerKeyAgreement: (any IssuerKeyAgreement)?) async throws {
        // Read through the open channel if there is one (a plain GET DATA would end it, SPEC §14.5).
        guard let certificate = try await getData(.keyAgreementCertificate) else {
            throw SealDriverError(code: .secureChannelFailure, reason: "the token has no key-agreement certificate (not a protocol v2 chip)")
        }
        let cardKey = try await SecureChannelCertificate.keyAgreementKey(certificateDER: certificate,
                                                                          settings: secureChannelSettings)
        var staticSecret: [UInt8]?
        if let issuerKeyAgreement {
            do {
                staticSecret = try issuerKeyAgreement.sharedSecret(with: cardKey)
            } catch {
                throw SealDriverError(code: .issuerSigningFailed, reason: "the issuer key agreement failed: \(error)")
            }
        }
        channel = nil  // the key agreement ends the open channel on the chip
        do {
            var handshake = try SCP11HostHandshake(variant: variant, cardStaticKey: cardKey, issuerStaticSharedSecret: staticSecret)
            let response = try await pipeline.send(handshake.command)
            guard response.statusWord == .success else {
                throw SealDriverError(statusWord: response.statusWord, command: "\(variant) key agreement")
            }
            channel = OpenSecureChannel(variant: variant, session: try handshake.complete(with: response))
            channelLost = false
        } catch let error as SecureChannelError {
            throw SealDriverError(code: .secureChannelFailure, reason: "\(variant): \(error.reason)")
        }
        logger.debug("secure channel open", metadata: ["variant": "\(variant)"])
    }

    /// Sends one logical command: wrapped when a channel is open (the unwrapped command and
    /// response then go to the trace too), plain otherwise.
    func exchange(_ command: CommandAPDU) async throws -> ResponseAPDU {
        guard let variant = openChannel?.variant else {
            // Once a channel was opened in this session, nothing goes plain until the next
            // connect, reset or SELECT opens a new one: no silent downgrade.
            guard !channelLost else {
                throw SealDriverError(code: .secureChannelFailure, reason: "the secure channel ended; reconnect or reset the token")
            }
            return try await pipeline.send(command)
        }
        // SPEC §3.5: the chip's command limit counts the wrapped bytes. Refused before wrapping,
        // so that the two sides' counters stay in step and the channel stays open.
        let wrappedLength = SCP03SecureMessaging.wrappedLength(plainLength: command.data.count)
        if let limit = pipeline.configuration.maxCommandData, wrappedLength > limit {
            throw SealDriverError(code: .commandTooLong,
                                  reason: "\(wrappedLength) data bytes once wrapped, the token accepts at most \(limit)",
                                  command: APDUTraceDecoder.instructionName(cla: command.cla, ins: command.ins))
        }
        // The session is wrapped and unwrapped in place (`openChannel?.session…`); nothing else
        // runs on this token meanwhile (`exclusively`), so the channel is still there after the send.
        do {
            guard var wrapped = try openChannel?.session.wrapCommand(command) else { throw Self.channelEnded }
            if !pipeline.configuration.extendedLength && !command.forceExtended {
                // SPEC §3.5: to a chip without extended length the wrapped command goes as short
                // APDUs (chained when longer than 255 bytes, §14.4) with Le 00.
                wrapped.forceExtended = false
                if let ne = wrapped.ne, ne > 256 { wrapped.ne = 256 }
            }
            traceUnwrapped(.command, command)
            let answer = try await pipeline.send(wrapped)
            if answer.statusWord == .secureMessagingDataIncorrect || answer.statusWord == .secureMessagingDataMissing
                || answer.statusWord == .secureMessagingNotSupported {
                // The chip refused the wrapped command and ended its channel (SPEC §14.5): a
                // command was changed, replayed, reordered or dropped on the way — or, for 6882,
                // the chip had no channel: another application selected the applet meanwhile.
                channel = nil
                if answer.statusWord == .secureMessagingNotSupported, Self.isReadOnly(command) {
                    channelEndedByAnotherApplication = true
                }
                throw SealDriverError(code: .secureChannelFailure,
                                      reason: "the token refused the wrapped \(APDUTraceDecoder.instructionName(cla: command.cla, ins: command.ins)) with \(answer.statusWord) and ended the channel")
            }
            guard let response = try openChannel?.session.unwrapResponse(answer) else { throw Self.channelEnded }
            traceUnwrapped(.response, command, response: response)
            if openChannel?.session.isOpen == false { channel = nil }
            return response
        } catch let error as SecureChannelError {
            channel = nil
            throw SealDriverError(code: .secureChannelFailure, reason: "\(variant) response refused: \(error.reason)")
        } catch let error as SealDriverError where error.statusWord != nil && error.code != .secureChannelFailure {
            // The token answered an error status word (bare, SPEC §14.4) that the transport
            // reports as its own failure (a read-only state file): both sides are still in step.
            throw error
        } catch {
            // A transport failure leaves the two sides' counters unknown: the channel is over.
            channel = nil
            throw error
        }
    }

    private static var channelEnded: SealDriverError {
        SealDriverError(code: .secureChannelFailure, reason: "the secure channel ended; reconnect or reset the token")
    }

    /// GET DATA and READ AUDIT LOG change nothing on the chip, so one refused unexecuted may be sent again.
    private static func isReadOnly(_ command: CommandAPDU) -> Bool {
        command.ins == SealInstruction.getData.rawValue || command.ins == SealInstruction.readAuditLog.rawValue
    }

    private func traceUnwrapped(_ direction: APDUTraceEvent.Direction, _ command: CommandAPDU, response: ResponseAPDU? = nil) {
        guard let trace = pipeline.trace else { return }
        if let response {
            trace(APDUTraceEvent(direction: .response, bytes: response.encoded(),
                                 decoded: "(unwrapped) " + APDUTraceDecoder.describe(responseBytes: response.encoded())))
            return
        }
        let secret = pipeline.configuration.redactSecretsInTrace && APDUTraceDecoder.carriesSecrets(command)
        let bytes = secret ? APDUTraceDecoder.redactedBytes(command) : ((try? command.encoded()) ?? [])
        trace(APDUTraceEvent(direction: direction, bytes: bytes,
                             decoded: "(unwrapped) " + APDUTraceDecoder.describe(command: command), redacted: secret))
    }
}

/// The token's open channel.
struct OpenSecureChannel: Sendable {
    let variant: SCP11Variant
    var session: SCP03SecureMessaging
}

/// The issuer's side of SCP11a's static key agreement: ECDH between the issuer's private key
/// (the key whose public half the chip holds since manufacture) and the chip's key-agreement key.
/// An HSM-backed issuer implements it with its ECDH operation.
public protocol IssuerKeyAgreement: Sendable {
    /// The x-coordinate of ECDH(issuer private key, `publicKey`), 32 bytes.
    func sharedSecret(with publicKey: P256.KeyAgreement.PublicKey) throws -> [UInt8]
}

extension P256IssuerSigner: IssuerKeyAgreement {
    /// ECDH of the in-memory issuer key with `publicKey`.
    public func sharedSecret(with publicKey: P256.KeyAgreement.PublicKey) throws -> [UInt8] {
        let key = try P256.KeyAgreement.PrivateKey(rawRepresentation: rawPrivateKey)
        return try SCP11KeyAgreement.sharedSecret(key, publicKey)
    }
}
