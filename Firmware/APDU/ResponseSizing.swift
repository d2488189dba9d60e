import SealProtocol

/// SPEC §3.3: how a response of |R| bytes is delivered to a host that accepts Ne bytes.
enum ResponseSizing {
    enum Delivery: Equatable {
        /// Rule 1: the whole response fits.
        case complete([UInt8], StatusWord)
        /// Rule 2: a read-only command with a short Le that is too small: `6Cxx`, no data.
        case wrongLe(StatusWord)
        /// Rule 3: the first Ne bytes now (`61xx`), the rest kept for GET RESPONSE.
        case partial(sent: [UInt8], pending: [UInt8], StatusWord)
    }

    static func deliver(_ result: CommandResult, instruction: SealInstruction, ne: Int?, leForm: APDULengthForm?) -> Delivery {
        deliver(result, mayAnswerWrongLe: instruction.mayBeAnsweredWrongLe, ne: ne, leForm: leForm)
    }

    /// `mayAnswerWrongLe` is false for state-changing commands and for every wrapped response
    /// (SPEC §14.4: a retry would be a new wrapped command, so the chip never answers it `6Cxx`).
    ///
    /// `result` is consumed: a complete response is handed on with its buffer uniquely referenced,
    /// so the front end appends the status word in place instead of copying the data.
    static func deliver(_ result: consuming CommandResult, mayAnswerWrongLe: Bool, ne: Int?, leForm: APDULengthForm?) -> Delivery {
        let expected = ne ?? 0
        let response = result.data
        if response.count <= expected {
            return .complete(response, result.status)
        }
        if mayAnswerWrongLe, leForm == .short, response.count <= 256 {
            return .wrongLe(.wrongLe(exact: response.count))
        }
        let sent = Array(response.prefix(expected))
        let pending = Array(response.dropFirst(expected))
        return .partial(sent: sent, pending: pending, .bytesRemaining(pending.count))
    }
}

extension SealInstruction {
    /// Whether the chip may answer a too-small short Le with `6Cxx` (SPEC §3.3 rule 2): a
    /// read-only command whose answer is the same bytes when it is sent again. GET ATTESTATION is
    /// read-only but its answer carries a fresh ECDSA signature whose DER length varies by a byte
    /// or two between calls, so the length `6Cxx` would name may not fit the retry: it is
    /// answered as a state-changing command is (rule 3, `61xx`).
    var mayBeAnsweredWrongLe: Bool {
        isReadOnly && self != .getAttestation
    }
}
