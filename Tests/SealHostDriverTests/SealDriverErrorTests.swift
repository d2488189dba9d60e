import SealHostDriver
import SealProtocol
import Testing

@Suite("SealDriverError")
struct SealDriverErrorTests {
    static let allCodes: [SealDriverError.Code] = [
        .transportFailure, .cardRemoved, .noResponse, .notConnected, .statusWord, .malformedResponse,
        .responseTooLong, .getResponseLoopExceeded, .wrongLengthLoop, .commandTooLong, .notSupportedByToken,
        .invalidArgument, .issuerSigningFailed, .auditChainBroken, .stampNotRecoverable,
        .malformedRecord, .invalidTrustAnchors, .fileUnreadable, .stampInvalid,
    ]

    @Test func codesAreDistinctAndNamed() {
        #expect(Set(Self.allCodes).count == Self.allCodes.count)
        #expect(SealDriverError.Code.getResponseLoopExceeded.description == "getResponseLoopExceeded")
    }

    @Test(arguments: allCodes)
    func everyCodeHasAOneLineMessage(code: SealDriverError.Code) {
        let error = SealDriverError(code: code, reason: "detail")
        #expect(!error.message.isEmpty)
        #expect(!error.message.contains("\n"))
        #expect(error.description.hasPrefix("SealDriverError.\(code)"))
    }

    @Test(arguments: [0x63C2, 0x63C0, 0x6983, 0x6982, 0x6985, 0x6300, 0x6A88, 0x6A80, 0x6581, 0x6A82, 0x6D00, 0x6700, 0x6F00] as [UInt16])
    func statusWordErrorsExplainWhatToDo(raw: UInt16) {
        let error = SealDriverError(statusWord: StatusWord(rawValue: raw), command: "STAMP")
        #expect(error.code == .statusWord)
        #expect(error.message.hasPrefix("STAMP"))
        #expect(!error.message.contains("\n"))
        #expect(error.description.contains(hexString([UInt8(raw >> 8), UInt8(raw & 0xFF)])))
    }

    @Test func helpersInterpretStatusWords() {
        let wrong = SealDriverError(statusWord: .verificationFailed(triesRemaining: 2), command: "VERIFY")
        #expect(wrong.isPINIncorrect)
        #expect(wrong.triesRemaining == 2)
        #expect(wrong.message.contains("2 tries left"))
        #expect(!wrong.isBlocked)
        #expect(SealDriverError(statusWord: .authenticationMethodBlocked, command: "VERIFY").isBlocked)
        #expect(SealDriverError(statusWord: .securityStatusNotSatisfied, command: "STAMP").isSecurityStatusNotSatisfied)
        #expect(SealDriverError(statusWord: .conditionsOfUseNotSatisfied, command: "STAMP").isConditionsOfUseNotSatisfied)
        #expect(SealDriverError(statusWord: .referencedDataNotFound, command: "GET DATA").isReferencedDataNotFound)
        #expect(SealDriverError(code: .noResponse, reason: "").triesRemaining == nil)
    }

    @Test func equalityAndHashingConsiderTheCodeOnly() {
        let a = SealDriverError(statusWord: .wrongData, command: "STAMP")
        let b = SealDriverError(code: .statusWord, reason: "other", statusWord: .wrongData, command: "PERSONALIZE")
        let c = SealDriverError(statusWord: .wrongLength, command: "STAMP")
        let d = SealDriverError(code: .noResponse, reason: "", statusWord: .wrongData)
        // The status word is a diagnostic: two refusals are equal errors, told apart by .statusWord.
        #expect(a == b)
        #expect(a == c)
        #expect(a.statusWord != c.statusWord)
        #expect(a != d)
        #expect(Set([a, b, c, d]).count == 2)
        #expect(SealDriverError(code: .transportFailure, reason: "x", underlyingError: CancellationError())
            == SealDriverError(code: .transportFailure, reason: "y"))
    }

    @Test func wrappingKeepsTheUnderlyingErrorAndItsDescription() {
        struct BackendFailure: Error, CustomStringConvertible { var description: String { "reader on fire" } }
        let wrapped = SealDriverError.wrapping(BackendFailure(), context: "Reader 0")
        #expect(wrapped.code == .transportFailure)
        #expect(wrapped.reason == "Reader 0: reader on fire")
        #expect(wrapped.underlyingError is BackendFailure)
        #expect(wrapped.message.contains("reader on fire"))
        // A driver error passes through unchanged.
        let removed = SealDriverError(code: .cardRemoved, reason: "pulled")
        #expect(SealDriverError.wrapping(removed, context: "Reader 0").reason == "pulled")
    }
}
