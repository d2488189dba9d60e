import Testing
@testable import SealProtocol

/// Every CodedError compares and hashes by code only and describes itself as `Type.code: reason`.
struct CodedErrorTests {
    @Test func equalityAndHashingIgnoreTheReason() {
        let a = TLVDecodingError(code: .truncated, reason: "at byte 3")
        let b = TLVDecodingError(code: .truncated, reason: "")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != TLVDecodingError(code: .invalidTag, reason: "at byte 3"))
        #expect(SealDataError(.missingField, "x") == SealDataError(.missingField, "y"))
        #expect(SealDataError(.missingField, "x") != SealDataError(.outOfRange, "x"))
    }

    @Test func descriptionNamesTypeCodeAndReason() {
        #expect("\(APDUDecodingError(code: .tooShort, reason: "3 bytes"))" == "APDUDecodingError.tooShort: 3 bytes")
        #expect("\(ATRError(code: .checksumMismatch, reason: ""))" == "ATRError.checksumMismatch")
        #expect("\(SealDataError(.notCanonical, "tags out of order"))" == "SealDataError.notCanonical: tags out of order")
    }
}
