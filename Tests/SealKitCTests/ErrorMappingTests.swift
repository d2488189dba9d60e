import CSealKit
@testable import SealKitC
import SealHostDriver
import SealPCSC
import SealProtocol
import SealUSB
import Testing

// The one table from Swift errors to the stable C codes (docs/c-library.md, "Error codes").

@Suite("Swift errors to C codes")
struct ErrorMappingTests {
    @Test("every driver code has its C code", arguments: [
        (SealDriverError.Code.transportFailure, SEALKIT_E_TRANSPORT),
        (.cardRemoved, SEALKIT_E_CARD_REMOVED),
        (.noResponse, SEALKIT_E_NO_RESPONSE),
        (.notConnected, SEALKIT_E_NOT_CONNECTED),
        (.malformedResponse, SEALKIT_E_MALFORMED_RESPONSE),
        (.responseTooLong, SEALKIT_E_RESPONSE_TOO_LONG),
        (.getResponseLoopExceeded, SEALKIT_E_RESPONSE_LOOP),
        (.wrongLengthLoop, SEALKIT_E_RESPONSE_LOOP),
        (.commandTooLong, SEALKIT_E_COMMAND_TOO_LONG),
        (.notSupportedByToken, SEALKIT_E_NOT_SUPPORTED),
        (.invalidArgument, SEALKIT_E_INVALID_ARGUMENT),
        (.auditChainBroken, SEALKIT_E_AUDIT_CHAIN_BROKEN),
        (.malformedRecord, SEALKIT_E_RECORD_INVALID),
        (.invalidTrustAnchors, SEALKIT_E_ROOTS_INVALID),
        (.fileUnreadable, SEALKIT_E_FILE_UNREADABLE),
        (.chipNotAuthenticated, SEALKIT_E_CHIP_NOT_AUTHENTICATED),
        (.secureChannelFailure, SEALKIT_E_SECURE_CHANNEL),
        (.issuerSigningFailed, SEALKIT_E_INTERNAL),
        (.stampInvalid, SEALKIT_E_INTERNAL),
    ])
    func driverCodes(code: SealDriverError.Code, expected: Int32) {
        let details = CErrorDetails(SealDriverError(code: code, reason: "r"))
        #expect(details.code == expected)
        #expect(details.message == SealDriverError(code: code, reason: "r").message)
        #expect(details.statusWord == -1 && details.triesRemaining == -1)
    }

    @Test("card refusals keep their status word; a wrong PIN its tries", arguments: [
        (UInt16(0x63C2), SEALKIT_E_PIN_INCORRECT, Int32(2)),
        (0x63C0, SEALKIT_E_PIN_INCORRECT, 0),
        (0x6983, SEALKIT_E_PIN_BLOCKED, -1),
        (0x6982, SEALKIT_E_NOT_AUTHORIZED, -1),
        (0x6985, SEALKIT_E_WRONG_LIFECYCLE, -1),
        (0x6A88, SEALKIT_E_DATA_NOT_FOUND, -1),
        (0x6A80, SEALKIT_E_CARD_REFUSED, -1),
        (0x6D00, SEALKIT_E_CARD_REFUSED, -1),
    ])
    func statusWords(raw: UInt16, expected: Int32, tries: Int32) {
        let error = SealDriverError(statusWord: StatusWord(rawValue: raw), command: "VERIFY")
        let details = CErrorDetails(error)
        #expect(details.code == expected)
        #expect(details.statusWord == Int32(raw))
        #expect(details.triesRemaining == tries)
        #expect(details.message == error.message)
    }

    @Test("PC/SC failures of opening a reader", arguments: [
        (PCSCError.Code.serviceUnavailable, SEALKIT_E_SERVICE_UNAVAILABLE),
        (.readerNotFound, SEALKIT_E_TARGET_NOT_FOUND),
        (.readerAmbiguous, SEALKIT_E_TARGET_AMBIGUOUS),
        (.invalidArgument, SEALKIT_E_TARGET_INVALID),
        (.sharingViolation, SEALKIT_E_TARGET_BUSY),
        (.noCard, SEALKIT_E_CARD_REMOVED),
        (.cardUnresponsive, SEALKIT_E_NO_RESPONSE),
        (.cardUnsupported, SEALKIT_E_NOT_SUPPORTED),
        (.failure, SEALKIT_E_TRANSPORT),
    ])
    func pcscCodes(code: PCSCError.Code, expected: Int32) {
        let error = PCSCError(code: code, reason: "r", reader: "Virtual PCD 00 00")
        #expect(CErrorDetails(error).code == expected)
        #expect(CErrorDetails(error).message == error.message)
    }

    @Test("USB and USB/IP failures of opening a device", arguments: [
        (USBError.Code.invalidAddress, SEALKIT_E_TARGET_INVALID),
        (.deviceNotFound, SEALKIT_E_TARGET_NOT_FOUND),
        (.noCCIDInterface, SEALKIT_E_TARGET_NOT_FOUND),
        (.deviceBusy, SEALKIT_E_TARGET_BUSY),
        (.permissionDenied, SEALKIT_E_PERMISSION_DENIED),
        (.connectionFailed, SEALKIT_E_SERVICE_UNAVAILABLE),
        (.noUSBDevices, SEALKIT_E_SERVICE_UNAVAILABLE),
        (.deviceGone, SEALKIT_E_CARD_REMOVED),
        (.timeout, SEALKIT_E_NO_RESPONSE),
        (.iccMute, SEALKIT_E_NO_RESPONSE),
        (.cardAbsent, SEALKIT_E_CARD_REMOVED),
        (.commandTooLong, SEALKIT_E_COMMAND_TOO_LONG),
        (.protocolError, SEALKIT_E_TRANSPORT),
    ])
    func usbCodes(code: USBError.Code, expected: Int32) {
        let error = USBError(code: code, reason: "r", device: "20a0:42d4")
        #expect(CErrorDetails(error).code == expected)
        #expect(CErrorDetails(error).message == error.message)
    }

    @Test("a backend failure a transport wrapped keeps its own code and message")
    func wrappedBackendErrors() {
        let busy = PCSCError(code: .sharingViolation, reason: "SCardConnect", reader: "Virtual PCD 00 00")
        let wrappedBusy = CErrorDetails(busy.driverError)
        #expect(wrappedBusy.code == SEALKIT_E_TARGET_BUSY)
        #expect(wrappedBusy.message == busy.message)
        let gone = USBError(code: .deviceGone, reason: "LIBUSB_ERROR_NO_DEVICE", device: "20a0:42d4")
        #expect(CErrorDetails(gone.driverError) == CErrorDetails(code: SEALKIT_E_CARD_REMOVED, message: gone.message))
        let plain = SealDriverError(code: .transportFailure, reason: "socket closed", underlyingError: CancellationError())
        #expect(CErrorDetails(plain) == CErrorDetails(code: SEALKIT_E_TRANSPORT, message: plain.message))
    }

    @Test("the C layer's own errors and anything unexpected")
    func otherErrors() {
        #expect(CErrorDetails(CLibraryError.invalidArgument("PIN is NULL")) == CErrorDetails(code: SEALKIT_E_INVALID_ARGUMENT, message: "PIN is NULL"))
        #expect(CErrorDetails(CLibraryError(code: .internalFailure, reason: "x")).code == SEALKIT_E_INTERNAL)
        #expect(CErrorDetails(CancellationError()).code == SEALKIT_E_INTERNAL)
        #expect(CErrorDetails(SealDataError(.outOfRange, "x")).code == SEALKIT_E_INTERNAL)
    }
}
