import CSealKit
import Foundation
@testable import SealKitC
import SealKitCSimulated
import SealProtocol
import Testing

// sealkit.h against the Swift that implements it.

/// Compiles only when the Swift entry point can stand where the C declaration is expected: the
/// same number of parameters, each of the declared C type, and the declared result. (`@_cdecl`
/// does not check a Swift function against a header; this does, at compile time.)
private func implements<Signature>(_ declaration: Signature, _ implementation: Signature) {}

@Suite("sealkit.h and its implementation")
struct HeaderTests {
    @Test("every function of sealkit.h is implemented with the declared parameter and result types")
    func signatures() {
        implements(sealkit_version, sealkitVersion)
        implements(sealkit_error_code, sealkitErrorCode)
        implements(sealkit_error_message, sealkitErrorMessage)
        implements(sealkit_error_status_word, sealkitErrorStatusWord)
        implements(sealkit_error_tries_remaining, sealkitErrorTriesRemaining)
        implements(sealkit_error_free, sealkitErrorFree)
        implements(sealkit_code_name, sealkitCodeName)
        implements(sealkit_string_free, sealkitStringFree)
        implements(sealkit_token_open_pcsc, sealkitTokenOpenPCSC)
        implements(sealkit_token_open_usb, sealkitTokenOpenUSB)
        implements(sealkit_token_open_usbip, sealkitTokenOpenUSBIP)
        implements(sealkit_token_open_transport, sealkitTokenOpenTransport)
        implements(sealkit_token_close, sealkitTokenClose)
        implements(sealkit_token_info, sealkitTokenInfo)
        implements(sealkit_token_verify_pin, sealkitTokenVerifyPIN)
        implements(sealkit_token_stamp_digest, sealkitTokenStampDigest)
        implements(sealkit_token_stamp_digest_fields, sealkitTokenStampDigestFields)
        implements(sealkit_digest_file, sealkitDigestFile)
        implements(sealkit_verify_record, sealkitVerifyRecord)
    }

    /// The `#define SEALKIT_OK` / `SEALKIT_E_*` lines of sealkit.h as (name, value).
    static func headerCodes() throws -> [(name: String, value: Int32)] {
        let header = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/SealKitC/include/sealkit.h")
        let text = try String(contentsOf: header, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: { $0 == " " })
            guard words.count >= 3, words[0] == "#define", words[1] == "SEALKIT_OK" || words[1].hasPrefix("SEALKIT_E_"),
                  let value = Int32(words[2]) else { return nil }
            return (String(words[1]), value)
        }
    }

    @Test("every code of the header has its name, the numbers are unique, and unknown numbers say so")
    func codeNames() throws {
        let codes = try Self.headerCodes()
        #expect(codes.count == 31)
        #expect(Set(codes.map(\.value)).count == codes.count, "two codes share a number")
        for (name, value) in codes {
            #expect(String(cString: sealkit_code_name(value)) == name)
        }
        #expect(String(cString: sealkit_code_name(9_999)) == "SEALKIT_E_UNKNOWN")
        #expect(String(cString: sealkit_code_name(-1)) == "SEALKIT_E_UNKNOWN")
        #expect(CErrorDetails.names.count == codes.count, "the name table lists a code the header does not")
    }

    @Test("the version is the release's, the one pkg-config reports")
    func version() {
        #expect(sealkit_version().map { String(cString: $0) } == SealKitVersion.current)
    }

    @Test("a call from a Swift task is refused with SEALKIT_E_WRONG_THREAD instead of blocking a pool thread")
    func wrongThread() async throws {
        var valid: Int32 = 7
        var error: OpaquePointer?
        let report = sealkit_verify_record("{}", "x", 1, nil, 0, nil, &valid, &error)
        #expect(report == nil)
        let failure = try #require(takeError(error))
        #expect(failure.code == SEALKIT_E_WRONG_THREAD)
        #expect(failure.message.contains("ordinary thread"))
        #expect(sealkit_token_verify_pin(nil, "123456", nil) == SEALKIT_E_WRONG_THREAD, "the thread is checked first")
    }

    @Test("NULL is safe wherever the header allows it")
    func nullArguments() async throws {
        #expect(sealkit_error_code(nil) == SEALKIT_E_INVALID_ARGUMENT)
        #expect(String(cString: sealkit_error_message(nil)) == "")
        #expect(sealkit_error_status_word(nil) == -1)
        #expect(sealkit_error_tries_remaining(nil) == -1)
        sealkit_error_free(nil)
        sealkit_string_free(nil)
        sealkitSimFree(nil)
        sealkitSimStringFree(nil)
        #expect(sealkitSimTransport(nil, nil) == -1)
        try await onCThread {
            sealkit_token_close(nil)
            // A NULL error pointer: the failure is still reported by the result.
            #expect(sealkit_token_info(nil, nil) == nil)
            #expect(sealkit_token_verify_pin(nil, "123456", nil) == SEALKIT_E_INVALID_ARGUMENT)
            #expect(throws: CallFailure.self) { try callString { sealkit_token_info(nil, $0) } }
            var error: OpaquePointer?
            #expect(sealkit_token_open_usbip(nil, nil, 0, &error) == nil)
            #expect(takeError(error)?.message == "address is NULL")
            #expect(sealkit_token_open_transport(nil, nil, 0, &error) == nil)
            #expect(takeError(error)?.message == "transport is NULL")
        }
    }
}
