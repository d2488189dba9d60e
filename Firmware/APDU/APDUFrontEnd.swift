import SealProtocol

/// The chip's ISO 7816-4 front end: pure logic between the raw APDU bytes and the applet.
///
/// It performs SPEC §5 steps 1–3 itself (malformed APDU, class byte, command chaining), answers
/// GET RESPONSE from the pending response data, asks the ``APDUCommandTarget`` for steps 4–5
/// (INS, selection, P1-P2) and to execute complete commands, and then applies the response-length
/// rules of SPEC §3.3 (`61xx` / `6Cxx`).
///
/// State rules:
/// - An APDU rejected at steps 1–2 (malformed, unsupported CLA) changes nothing: an open chain and
///   pending response data survive it (SPEC §5: errors change no state).
/// - Every other APDU except GET RESPONSE discards pending response data (SPEC §3.3).
/// - Every chaining error discards the open chain (SPEC §3.4).
struct APDUFrontEnd {
    enum Outcome: Equatable {
        /// Response bytes, data then SW1 SW2.
        case response([UInt8])
        /// The NVM lost power during execution: the chip answers nothing.
        case powerLost
    }

    /// The command buffer (`maxCommandData`) and whether extended lengths are accepted (SPEC §3.5).
    let capabilities: SealCapabilities
    private(set) var chain: CommandChain?
    /// Response bytes not yet fetched with GET RESPONSE.
    private(set) var pendingResponse: [UInt8]?
    /// The open secure channel (SPEC §14), if any.
    private(set) var secureChannel: ChipSecureChannel?

    init(capabilities: SealCapabilities = .reference) {
        self.capabilities = capabilities
    }

    /// Clears all volatile state of the front end (power-on, warm reset, power-off), the secure
    /// channel included.
    mutating func reset() {
        chain = nil
        pendingResponse = nil
        secureChannel = nil
    }

    mutating func process(_ bytes: [UInt8], target: some APDUCommandTarget) -> Outcome {
        // Step 1: malformed APDU, including a single APDU whose data exceeds the command buffer
        // and, on a chip without extended length, an APDU in extended form (SPEC §3.5).
        let apdu: CommandAPDU
        do {
            apdu = try CommandAPDU(decoding: bytes)
        } catch {
            return .status(.wrongLength)
        }
        guard apdu.data.count <= Int(capabilities.maxCommandData),
              capabilities.features.contains(.extendedLength) || !Self.isExtendedForm(bytes) else {
            return .status(.wrongLength)
        }
        // Step 2: class byte.
        if let rejection = ClassByteRules.rejection(for: apdu.cla) {
            return .status(rejection)
        }
        let isChainedPart = ClassByteRules.isChainedPart(apdu.cla)
        let isWrapped = ClassByteRules.isWrapped(apdu.cla)
        if isWrapped && secureChannel == nil {
            // SPEC §14.5: secure messaging without a channel is a class error (§5 step 2).
            return .status(.secureMessagingNotSupported)
        }
        // The chain header keeps the secure-messaging bit: every part of a chain is wrapped or none is.
        let header = CommandHeader(classByte: apdu.cla & ~SealClass.chainingBit, ins: apdu.ins, p1: apdu.p1, p2: apdu.p2)
        let plainHeader = CommandHeader(classByte: header.classByte & ~SCP03SecureMessaging.secureMessagingBit,
                                        ins: apdu.ins, p1: apdu.p1, p2: apdu.p2)
        let isGetResponse = plainHeader.classByte == SealClass.interindustry && header.ins == SealInstruction.getResponse.rawValue
        if isGetResponse && isWrapped {
            // GET RESPONSE travels plain below the channel (SPEC §14.4).
            return .status(.secureMessagingNotSupported)
        }
        if !isGetResponse {
            pendingResponse = nil
        }

        // Step 3: command chaining.
        let completeData: [UInt8]
        if var open = chain {
            guard open.header == header else {
                chain = nil
                return .status(.lastCommandOfChainExpected)
            }
            guard open.canAppend(apdu.data.count, limit: Int(capabilities.maxCommandData)) else {
                chain = nil
                return .status(.wrongLength)
            }
            if isChainedPart {
                guard !apdu.data.isEmpty else {
                    chain = nil
                    return .status(.wrongLength)
                }
                open.append(apdu.data)
                chain = open
                return .status(.success)
            }
            chain = nil
            open.append(apdu.data)
            completeData = open.data
        } else if isChainedPart {
            if plainHeader.classByte == SealClass.interindustry,
               header.ins == SealInstruction.getResponse.rawValue || header.ins == SealInstruction.getChallenge.rawValue {
                return .status(.commandChainingNotSupported)
            }
            // Steps 4–5 are checked on the first part so a doomed chain is refused at once.
            do {
                _ = try target.checkHeader(plainHeader)
            } catch {
                return Self.outcome(of: error)
            }
            guard !apdu.data.isEmpty else {
                return .status(.wrongLength)
            }
            chain = CommandChain(header: header, firstPart: apdu.data)
            return .status(.success)
        } else {
            completeData = apdu.data
        }

        // SPEC §14: the key agreement opens a channel (ending any open one); SELECT ends it;
        // a wrapped command is unwrapped here; a plain one inside a channel ends it.
        if !isWrapped, let variant = SecureChannelPolicy.handshakeVariant(classByte: plainHeader.classByte, ins: plainHeader.ins) {
            return openSecureChannel(variant, header: plainHeader, data: completeData, ne: apdu.ne, target: target)
        }
        let isSelect = plainHeader.classByte == SealClass.interindustry && plainHeader.ins == SealInstruction.select.rawValue
        if isSelect, secureChannel != nil {
            endSecureChannel(target)
        }
        var commandData = completeData
        if isWrapped {
            // The session is used in place (`secureChannel?.…`): a copy would retain its keys and
            // buffers and be written back for nothing.
            do {
                guard let plain = try secureChannel?.session.unwrapCommand(cla: header.classByte, ins: header.ins, p1: header.p1,
                                                                           p2: header.p2, data: completeData) else {
                    return .status(.secureMessagingNotSupported)  // ended by the SELECT above
                }
                commandData = plain
            } catch {
                endSecureChannel(target)
                return .status(.secureMessagingDataIncorrect)
            }
        } else if secureChannel != nil, !isGetResponse {
            endSecureChannel(target)
            return .status(.secureMessagingDataMissing)
        }

        // Steps 4–5.
        let instruction: SealInstruction
        do {
            instruction = try target.checkHeader(plainHeader)
        } catch {
            return wrapped(Self.outcome(of: error), isWrapped: isWrapped)
        }
        let leForm: APDULengthForm? = apdu.ne == nil ? nil : (apdu.forceExtended ? .extended : .short)

        if instruction == .getResponse {
            return getResponse(data: completeData, ne: apdu.ne)
        }

        // SPEC §14.6: commands that exist only inside a channel.
        switch SecureChannelPolicy.requirement(for: instruction, hasData: !commandData.isEmpty) {
        case .none:
            break
        case .anyChannel:
            guard secureChannel != nil else { return .status(.securityStatusNotSatisfied) }
        case .issuerChannel:
            guard secureChannel?.variant == .a else { return wrapped(.status(.securityStatusNotSatisfied), isWrapped: isWrapped) }
        }

        // Steps 6–10.
        let command = AppletCommand(instruction: instruction, p1: header.p1, p2: header.p2, data: commandData, ne: apdu.ne, leForm: leForm)
        var result: CommandResult
        do {
            result = try target.execute(command)
        } catch {
            return wrapped(Self.outcome(of: error), isWrapped: isWrapped)
        }
        if isWrapped {
            // A SELECT inside the channel ended it above; its answer then goes plain.
            do {
                guard let wrappedData = try secureChannel?.session.wrapResponse(data: result.data, status: result.status) else {
                    return .status(.secureMessagingDataIncorrect)
                }
                result = CommandResult(data: wrappedData, status: result.status)
            } catch {
                endSecureChannel(target)
                return .status(.secureMessagingDataIncorrect)
            }
        }
        // Handed over, not copied: `deliver` appends the status word to the response's own
        // buffer, which must be uniquely referenced for that to happen in place.
        return deliver(consume result, mayAnswerWrongLe: instruction.mayBeAnsweredWrongLe && !isWrapped, ne: apdu.ne, leForm: leForm)
    }

    /// Whether a well-formed APDU uses the extended length form: a body longer than one byte that
    /// starts with `00` (ISO 7816-4 §5.1: a short Lc is never `00`; extended Lc, or a three-byte Le).
    static func isExtendedForm(_ bytes: [UInt8]) -> Bool {
        bytes.count > 5 && bytes[4] == 0x00
    }

    /// SPEC §3.3 delivery of a complete result.
    private mutating func deliver(_ result: consuming CommandResult, mayAnswerWrongLe: Bool, ne: Int?, leForm: APDULengthForm?) -> Outcome {
        switch ResponseSizing.deliver(result, mayAnswerWrongLe: mayAnswerWrongLe, ne: ne, leForm: leForm) {
        case .complete(var data, let status):
            // Appended in place: a response buffer usually has room for the status word.
            data.append(status.sw1)
            data.append(status.sw2)
            return .response(data)
        case .wrongLe(let status):
            return .status(status)
        case .partial(let sent, let pending, let status):
            pendingResponse = pending
            return .response(sent + [status.sw1, status.sw2])
        }
    }

    /// The key-agreement command (SPEC §14.3): any open channel ends first; on success the new
    /// channel is open and its answer goes plain.
    private mutating func openSecureChannel(_ variant: SCP11Variant, header: CommandHeader, data: [UInt8], ne: Int?,
                                            target: some APDUCommandTarget) -> Outcome {
        if secureChannel != nil {
            endSecureChannel(target)
        }
        let result: SCP11CardHandshake.Result
        do {
            result = try target.openSecureChannel(variant, header: header, data: data)
        } catch {
            return Self.outcome(of: error)
        }
        secureChannel = ChipSecureChannel(variant: variant, session: result.session)
        target.secureChannelChanged(to: variant)
        let leForm: APDULengthForm? = ne == nil ? nil : .short
        return deliver(CommandResult(data: result.responseData), mayAnswerWrongLe: false, ne: ne, leForm: leForm)
    }

    /// Ends the channel: keys forgotten, the channel-bound security state cleared.
    private mutating func endSecureChannel(_ target: some APDUCommandTarget) {
        secureChannel = nil
        target.secureChannelChanged(to: nil)
    }

    /// The answer to a wrapped command that ended in a status word: protected warnings (`62xx`,
    /// `63xx`) carry their R-MAC, errors go bare (SPEC §14.4).
    private mutating func wrapped(_ outcome: Outcome, isWrapped: Bool) -> Outcome {
        guard isWrapped, case .response(let bytes) = outcome, bytes.count == 2, let channel = secureChannel else { return outcome }
        let status = StatusWord(sw1: bytes[0], sw2: bytes[1])
        guard SCP03SecureMessaging.isProtected(status) else { return outcome }
        guard let mac = try? channel.session.wrapResponse(data: [], status: status) else {
            secureChannel = nil
            return .status(.secureMessagingDataIncorrect)
        }
        return .response(mac + bytes)
    }

    /// GET RESPONSE (SPEC §8.2) after its P1-P2 were accepted: Le required, no data, something pending.
    private mutating func getResponse(data: [UInt8], ne: Int?) -> Outcome {
        guard data.isEmpty, let ne else {
            return .status(.wrongLength)
        }
        guard let pending = pendingResponse, !pending.isEmpty else {
            return .status(.conditionsOfUseNotSatisfied)
        }
        let sent = Array(pending.prefix(ne))
        let rest = Array(pending.dropFirst(ne))
        pendingResponse = rest.isEmpty ? nil : rest
        let status: StatusWord = rest.isEmpty ? .success : .bytesRemaining(rest.count)
        return .response(sent + [status.sw1, status.sw2])
    }

    private static func outcome(of failure: CommandFailure) -> Outcome {
        switch failure {
        case .status(let status): return .status(status)
        case .powerLost: return .powerLost
        }
    }
}

extension APDUFrontEnd.Outcome {
    static func status(_ status: StatusWord) -> Self {
        .response([status.sw1, status.sw2])
    }
}
