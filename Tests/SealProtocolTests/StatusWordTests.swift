import Testing
@testable import SealProtocol

@Suite("StatusWord")
struct StatusWordTests {
    @Test(
        "named constants carry their ISO values",
        arguments: [
            (StatusWord.success, UInt16(0x9000)),
            (.warningNoInformation, 0x6200),
            (.dataCorrupted, 0x6281),
            (.endOfFileBeforeLe, 0x6282),
            (.authenticationFailed, 0x6300),
            (.memoryFailure, 0x6581),
            (.wrongLength, 0x6700),
            (.logicalChannelNotSupported, 0x6881),
            (.secureMessagingNotSupported, 0x6882),
            (.lastCommandOfChainExpected, 0x6883),
            (.commandChainingNotSupported, 0x6884),
            (.securityStatusNotSatisfied, 0x6982),
            (.authenticationMethodBlocked, 0x6983),
            (.referenceDataInvalidated, 0x6984),
            (.conditionsOfUseNotSatisfied, 0x6985),
            (.commandNotAllowed, 0x6986),
            (.wrongData, 0x6A80),
            (.functionNotSupported, 0x6A81),
            (.fileNotFound, 0x6A82),
            (.notEnoughMemory, 0x6A84),
            (.incorrectP1P2, 0x6A86),
            (.referencedDataNotFound, 0x6A88),
            (.wrongP1P2, 0x6B00),
            (.insNotSupported, 0x6D00),
            (.claNotSupported, 0x6E00),
            (.noPreciseDiagnosis, 0x6F00),
        ]
    )
    func constants(sw: StatusWord, raw: UInt16) {
        #expect(sw.rawValue == raw)
        #expect(sw == StatusWord(rawValue: raw))
        #expect(sw == StatusWord(sw1: UInt8(raw >> 8), sw2: UInt8(raw & 0xFF)))
        // Every named constant has a specific meaning, not a category fallback.
        #expect(!sw.description.contains("unknown"))
    }

    @Test("sw1 and sw2 split the raw value")
    func bytes() {
        let sw = StatusWord(sw1: 0x6A, sw2: 0x82)
        #expect(sw.rawValue == 0x6A82)
        #expect(sw.sw1 == 0x6A)
        #expect(sw.sw2 == 0x82)
    }

    @Test(
        "bytesRemaining factory encodes 61xx, 256 and up as 6100",
        arguments: [(1, UInt16(0x6101)), (16, 0x6110), (255, 0x61FF), (256, 0x6100), (1000, 0x6100), (0, 0x6100), (-5, 0x6100)]
    )
    func bytesRemainingFactory(n: Int, raw: UInt16) {
        #expect(StatusWord.bytesRemaining(n).rawValue == raw)
    }

    @Test("bytesRemaining accessor reads 61xx, 6100 as 256")
    func bytesRemainingAccessor() {
        #expect(StatusWord(rawValue: 0x6110).bytesRemaining == 16)
        #expect(StatusWord(rawValue: 0x6100).bytesRemaining == 256)
        #expect(StatusWord.success.bytesRemaining == nil)
        #expect(StatusWord(rawValue: 0x6C10).bytesRemaining == nil)
    }

    @Test("wrongLe factory and exactLength accessor agree on 6Cxx", arguments: [1, 16, 255, 256])
    func wrongLe(exact: Int) {
        let sw = StatusWord.wrongLe(exact: exact)
        #expect(sw.sw1 == 0x6C)
        #expect(sw.exactLength == exact)
        #expect(sw.bytesRemaining == nil)
    }

    @Test("wrongLe literal values")
    func wrongLeLiterals() {
        #expect(StatusWord.wrongLe(exact: 0x10).rawValue == 0x6C10)
        #expect(StatusWord.wrongLe(exact: 256).rawValue == 0x6C00)
        #expect(StatusWord.success.exactLength == nil)
    }

    @Test(
        "verificationFailed encodes 63Cx and retriesRemaining reads it back",
        arguments: [(0, UInt16(0x63C0)), (3, 0x63C3), (15, 0x63CF), (16, 0x63CF), (-1, 0x63C0)]
    )
    func verificationFailed(tries: Int, raw: UInt16) {
        let sw = StatusWord.verificationFailed(triesRemaining: tries)
        #expect(sw.rawValue == raw)
        #expect(sw.retriesRemaining == min(max(tries, 0), 15))
    }

    @Test("retriesRemaining is nil outside 63Cx")
    func retriesRemainingNil() {
        #expect(StatusWord.authenticationFailed.retriesRemaining == nil)
        #expect(StatusWord(rawValue: 0x6381).retriesRemaining == nil)
        #expect(StatusWord.success.retriesRemaining == nil)
    }

    @Test("isSuccess is 9000 only; 61xx still needs GET RESPONSE")
    func isSuccess() {
        #expect(StatusWord.success.isSuccess)
        #expect(!StatusWord.bytesRemaining(10).isSuccess)
        #expect(!StatusWord.warningNoInformation.isSuccess)
        #expect(StatusWord.warningNoInformation.isWarning)
        #expect(StatusWord.verificationFailed(triesRemaining: 2).isWarning)
        #expect(!StatusWord.wrongLength.isWarning)
    }

    @Test(
        "description gives hex and the ISO meaning",
        arguments: [
            (StatusWord.securityStatusNotSatisfied, "6982 (security status not satisfied)"),
            (.success, "9000 (success)"),
            (.fileNotFound, "6A82 (file or application not found)"),
            (.bytesRemaining(16), "6110 (16 response bytes still available)"),
            (.bytesRemaining(300), "6100 (256 response bytes still available)"),
            (.wrongLe(exact: 16), "6C10 (wrong Le field, exact length is 16)"),
            (.verificationFailed(triesRemaining: 2), "63C2 (verification failed, 2 tries remaining)"),
            (StatusWord(rawValue: 0x6400), "6400 (execution error, non-volatile memory unchanged)"),
            (StatusWord(rawValue: 0x9110), "9110 (proprietary)"),
            (StatusWord(rawValue: 0x1234), "1234 (unknown)"),
        ]
    )
    func description(sw: StatusWord, text: String) {
        #expect(sw.description == text)
        #expect("\(sw)" == text)
    }
}
