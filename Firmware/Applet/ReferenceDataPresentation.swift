import SealProtocol

/// The outcome of presenting a PIN or PUK after its try counter was charged.
enum PresentationOutcome: Equatable {
    /// The secret matched; `charged` is the counter as committed (one try used).
    case match(charged: TryCounter)
    /// The secret did not match; `remaining` tries are left (already committed).
    case mismatch(remaining: Int)
}

extension SealAppletRuntime {
    /// SPEC §8.6 / §11: commits the decremented try counter in its own transaction, and only then
    /// compares — so a power cut after the comparison can never give a try back.
    ///
    /// The caller has already refused a blocked counter (`6983`) and malformed input.
    func present(_ candidate: [UInt8], reference: RecordID, counterRecord: RecordID,
                 counter: TryCounter) throws(CommandFailure) -> PresentationOutcome {
        let stored = try store.reference(reference)
        let charged = counter.decremented()
        try store.atomically { () throws(CommandFailure) in
            try store.write(counterRecord, charged.encoded)
        }
        if ReferenceData.matches(candidate, stored: stored) {
            return .match(charged: charged)
        }
        return .mismatch(remaining: Int(charged.remaining))
    }

    /// Parses `tagA L a tagB L b` (exactly these two objects, in this order) as used by
    /// CHANGE REFERENCE DATA and RESET RETRY COUNTER; `nil` when malformed.
    static func parseSecretPair(_ data: [UInt8], first: BERTag, second: BERTag) -> (first: [UInt8], second: [UInt8])? {
        guard let objects = try? TLV.decodeAll(data, strict: true), objects.count == 2,
              objects[0].tag == first, objects[1].tag == second else { return nil }
        return (objects[0].value, objects[1].value)
    }
}
