import CSealKit
import Foundation
import SealKitC
import SealKitCSimulated
import Testing

// Helpers that call libsealkit the way a C program does: through the declarations of sealkit.h
// (the CSealKit module), from threads that are not Swift concurrency threads, owning and freeing
// every returned object.

/// Runs `body` on a new thread outside Swift concurrency — where C callers live — and returns its
/// result. (Calling the blocking C API from a test's own task would hold a cooperative-pool
/// thread while the operation waits for one: on a 2-core machine with tests in parallel, a
/// deadlock the header rules out for C callers.)
func onCThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// A failed C call: the fields of its `sealkit_error`, which has been freed.
struct CallFailure: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    let statusWord: Int32
    let triesRemaining: Int32

    var name: String { String(cString: sealkit_code_name(code)) }
    var description: String { "\(name): \(message)" }
}

/// Takes over an error object: its fields as a value; the object is freed.
func takeError(_ error: OpaquePointer?) -> CallFailure? {
    guard let error else { return nil }
    defer { sealkit_error_free(error) }
    return CallFailure(code: sealkit_error_code(error), message: String(cString: sealkit_error_message(error)),
                       statusWord: sealkit_error_status_word(error), triesRemaining: sealkit_error_tries_remaining(error))
}

/// Takes over a returned string: its text; the C string is freed.
func takeString(_ string: UnsafeMutablePointer<CChar>?) -> String? {
    guard let string else { return nil }
    defer { sealkit_string_free(string) }
    return String(cString: string)
}

/// Calls a C function that returns a string or NULL with an error.
func callString(_ body: (UnsafeMutablePointer<OpaquePointer?>) -> UnsafeMutablePointer<CChar>?) throws(CallFailure) -> String {
    var error: OpaquePointer?
    if let text = takeString(body(&error)) {
        #expect(error == nil, "an error object on success")
        return text
    }
    throw takeError(error) ?? CallFailure(code: -1, message: "NULL without an error object", statusWord: -1, triesRemaining: -1)
}

/// Calls a C function that returns a status code, checking that the code and the error object agree.
func callStatus(_ body: (UnsafeMutablePointer<OpaquePointer?>) -> Int32) throws(CallFailure) {
    var error: OpaquePointer?
    let code = body(&error)
    if code == SEALKIT_OK {
        #expect(error == nil, "an error object on success")
        return
    }
    let failure = takeError(error) ?? CallFailure(code: -1, message: "no error object", statusWord: -1, triesRemaining: -1)
    #expect(failure.code == code, "returned \(code), error object says \(failure.code)")
    throw failure
}

/// The JSON object a call returned.
func jsonObject(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw CallFailure(code: -1, message: "not a JSON object: \(text)", statusWord: -1, triesRemaining: -1)
    }
    return object
}

/// The outcome of check `id` in a verification report.
func outcome(_ report: [String: Any], _ id: String) -> String? {
    (report["checks"] as? [[String: Any]])?.first { $0["id"] as? String == id }?["outcome"] as? String
}

/// A `sealkit_token *` shared between threads in tests. `@unchecked Sendable`: the header makes a
/// handle usable from any thread, which is what the tests check.
struct TokenPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// A fresh in-memory simulated token of libsealkit-sim, its transport filled in.
struct SimulatedToken: @unchecked Sendable {
    /// The transport for `sealkit_token_open_transport`; it holds the token until released.
    var transport: sealkit_transport
    /// The token's watermark key.
    let watermarkKey: [UInt8]

    init() throws {
        var message: UnsafeMutablePointer<CChar>?
        guard let sim = sealkitSimCreate(nil, &message) else {
            defer { sealkitSimStringFree(message) }
            throw CallFailure(code: -1, message: message.map { String(cString: $0) } ?? "?", statusWord: -1, triesRemaining: -1)
        }
        defer { sealkitSimFree(sim) }
        var transport = sealkit_transport()
        #expect(sealkitSimTransport(sim, &transport) == 0)
        var key = [UInt8](repeating: 0, count: 32)
        #expect(sealkitSimWatermarkKey(sim, &key) == 0)
        self.transport = transport
        self.watermarkKey = key
    }

    /// Opens the token through the driver, connected, authenticating the chip under `roots` (the
    /// test vendor root by default; empty passes NULL and 0).
    func open(roots: [UInt8] = Array(vendorRootPEM.utf8)) throws(CallFailure) -> TokenPointer {
        var error: OpaquePointer?
        var transport = self.transport
        let opened = roots.isEmpty ? sealkit_token_open_transport(&transport, nil, 0, &error)
                                   : sealkit_token_open_transport(&transport, roots, roots.count, &error)
        guard let token = opened else {
            throw takeError(error) ?? CallFailure(code: -1, message: "NULL without an error", statusWord: -1, triesRemaining: -1)
        }
        return TokenPointer(pointer: token)
    }
}

/// The test vendor root, PEM, as libsealkit-sim hands it out.
var vendorRootPEM: String { sealkitSimVendorRootPEM().map { String(cString: $0) } ?? "" }

/// SHA-256 of "Hello, SealKit!\n".
let documentDigest: [UInt8] = [
    0x34, 0x70, 0x1E, 0x82, 0x16, 0x5E, 0x15, 0x25, 0xB3, 0x1B, 0xA5, 0x8F, 0x92, 0xF0, 0x90, 0xE4,
    0x06, 0x01, 0xDA, 0xA4, 0xAF, 0x4A, 0xEF, 0xE1, 0x5D, 0x4F, 0x20, 0x29, 0x94, 0x01, 0x1D, 0x4B,
]

/// Stamps `digest` with `metadataJSON` and returns the record JSON.
func stamp(_ token: TokenPointer, digest: [UInt8] = documentDigest, metadataJSON: String? = nil) throws(CallFailure) -> String {
    try callString { error in
        metadataJSON.withOptionalCString { metadata in
            sealkit_token_stamp_digest(token.pointer, digest, digest.count, metadata, error)
        }
    }
}

/// Verifies a record against the PEM roots, on a C thread; the report object and the `valid` flag.
func verify(_ record: String, roots: [UInt8] = Array(vendorRootPEM.utf8), digest: [UInt8]? = documentDigest,
            options: String? = nil) async throws -> (report: [String: Any], valid: Bool) {
    let (text, valid) = try await onCThread { () throws -> (String, Int32) in
        var valid: Int32 = -1
        let text = try callString { error in
            options.withOptionalCString { options in
                sealkit_verify_record(record, roots, roots.count, digest, digest?.count ?? 0, options, &valid, error)
            }
        }
        return (text, valid)
    }
    let report = try jsonObject(text)
    #expect(report["valid"] as? Bool == (valid == 1), "the valid flag and the report agree")
    return (report, valid == 1)
}

extension Optional where Wrapped == String {
    /// Runs `body` with a C string, or NULL for nil.
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
        switch self {
        case .some(let text): try text.withCString { try body($0) }
        case .none: try body(nil)
        }
    }
}
