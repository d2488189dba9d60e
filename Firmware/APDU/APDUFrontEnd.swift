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

    private(set) var chain: CommandChain?
    /// Response bytes not yet fetched with GET RESPONSE.
    private(set) var pendingResponse: [UInt8]?

    /// Clears all volatile state of the front end (power-on, warm reset, power-off).
    mutating func reset() {
        chain = nil
        pendingResponse = nil
    }

    mutating func process(_ bytes: [UInt8], target: some APDUCommandTarget) -> Outcome {
        // Step 1: malformed APDU, including a single APDU whose data exceeds the command buffer.
        guard let apdu = try? CommandAPDU(decoding: bytes), apdu.data.count <= SealApplet.maxCommandData else {
            return .status(.wrongLength)
        }
        // Step 2: class byte.
        if let rejection = ClassByteRules.rejection(for: apdu.cla) {
            return .status(rejection)
        }
        let isChainedPart = ClassByteRules.isChainedPart(apdu.cla)
        let header = CommandHeader(classByte: apdu.cla & ~SealClass.chainingBit, ins: apdu.ins, p1: apdu.p1, p2: apdu.p2)
        let isGetResponse = header.classByte == SealClass.interindustry && header.ins == SealInstruction.getResponse.rawValue
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
            guard open.canAppend(apdu.data.count) else {
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
            if header.classByte == SealClass.interindustry,
               header.ins == SealInstruction.getResponse.rawValue || header.ins == SealInstruction.getChallenge.rawValue {
                return .status(.commandChainingNotSupported)
            }
            // Steps 4–5 are checked on the first part so a doomed chain is refused at once.
            do {
                _ = try target.checkHeader(header)
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

        // Steps 4–5.
        let instruction: SealInstruction
        do {
            instruction = try target.checkHeader(header)
        } catch {
            return Self.outcome(of: error)
        }
        let leForm: APDULengthForm? = apdu.ne == nil ? nil : (apdu.forceExtended ? .extended : .short)

        if instruction == .getResponse {
            return getResponse(data: completeData, ne: apdu.ne)
        }

        // Steps 6–10.
        let command = AppletCommand(instruction: instruction, p1: header.p1, p2: header.p2, data: completeData, ne: apdu.ne, leForm: leForm)
        let result: CommandResult
        do {
            result = try target.execute(command)
        } catch {
            return Self.outcome(of: error)
        }
        switch ResponseSizing.deliver(result, instruction: instruction, ne: apdu.ne, leForm: leForm) {
        case .complete(let data, let status):
            return .response(data + [status.sw1, status.sw2])
        case .wrongLe(let status):
            return .status(status)
        case .partial(let sent, let pending, let status):
            pendingResponse = pending
            return .response(sent + [status.sw1, status.sw2])
        }
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
