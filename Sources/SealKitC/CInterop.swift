#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSealKit
import SealProtocol
import SealKitCBridge

/// The object behind a `sealkit_error *`: the mapped details and the message as a C string the
/// object owns.
final class CErrorObject {
    let details: CErrorDetails
    let message: UnsafeMutablePointer<CChar>?

    init(_ details: CErrorDetails) {
        self.details = details
        message = strdup(details.message)
    }

    deinit { free(message) }

    /// Hands the object to C with a +1 retain; `sealkit_error_free` balances it.
    func retainedPointer() -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(self).toOpaque())
    }

    static func borrowed(_ pointer: OpaquePointer) -> CErrorObject {
        Unmanaged<CErrorObject>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }
}

/// Runs the body of a C entry point that blocks: sets `*error` to NULL, and when the body throws
/// stores a new error object in `*error` (when `error` is not NULL) and returns `failure`.
///
/// A call from a thread that runs a Swift task (a transport callback, Swift async code) is refused
/// first, before anything is done: see ``refuseTaskThread()``. `checksThread: false` leaves that
/// to the body.
func cEntry<T>(_ error: UnsafeMutablePointer<OpaquePointer?>?, failure: T, checksThread: Bool = true,
               _ body: () throws -> T) -> T {
    error?.pointee = nil
    do {
        if checksThread { try refuseTaskThread() }
        return try body()
    } catch let thrown {
        error?.pointee = CErrorObject(CErrorDetails(thrown)).retainedPointer()
        return failure
    }
}

/// Runs the body of a C entry point that returns a status: `SEALKIT_OK`, or the error's code with
/// a new error object in `*error` as ``cEntry(_:failure:_:)`` does.
func cStatusEntry(_ error: UnsafeMutablePointer<OpaquePointer?>?, _ body: () throws -> Void) -> Int32 {
    error?.pointee = nil
    do {
        try refuseTaskThread()
        try body()
        return SEALKIT_OK
    } catch let thrown {
        let details = CErrorDetails(thrown)
        error?.pointee = CErrorObject(details).retainedPointer()
        return details.code
    }
}

/// A C string argument as a Swift string; NULL and invalid UTF-8 are argument errors.
func stringArgument(_ pointer: UnsafePointer<CChar>?, _ name: String) throws(CLibraryError) -> String {
    guard let pointer else { throw .invalidArgument("\(name) is NULL") }
    guard let text = String(validatingCString: pointer) else { throw .invalidArgument("\(name) is not UTF-8") }
    return text
}

/// An optional C string argument: NULL is `nil`, invalid UTF-8 an argument error.
func optionalStringArgument(_ pointer: UnsafePointer<CChar>?, _ name: String) throws(CLibraryError) -> String? {
    guard pointer != nil else { return nil }
    return try stringArgument(pointer, name)
}

/// `count` bytes at `pointer`; NULL with a nonzero count is an argument error.
func bytesArgument(_ pointer: UnsafePointer<UInt8>?, count: Int, _ name: String) throws(CLibraryError) -> [UInt8] {
    guard count > 0 else { return [] }
    guard let pointer else { throw .invalidArgument("\(name) is NULL but its length is \(count)") }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}

/// A string handed to C: a `malloc`ed copy the caller frees with `sealkit_string_free`.
func returnedString(_ text: String) throws(CLibraryError) -> UnsafeMutablePointer<CChar> {
    guard let copy = strdup(text) else { throw CLibraryError(code: .internalFailure, reason: "out of memory") }
    return copy
}

/// The handle behind a `sealkit_token *`, borrowed for one call.
func borrowedToken(_ pointer: OpaquePointer?) throws(CLibraryError) -> TokenHandle {
    guard let pointer else { throw .invalidArgument("token is NULL") }
    return Unmanaged<TokenHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

// MARK: - Errors and strings

/// `sealkit_error_code` (sealkit.h).
@_cdecl("sealkit_error_code")
package func sealkitErrorCode(_ error: OpaquePointer?) -> Int32 {
    guard let error else { return SEALKIT_E_INVALID_ARGUMENT }
    return CErrorObject.borrowed(error).details.code
}

/// `sealkit_error_message` (sealkit.h).
@_cdecl("sealkit_error_message")
package func sealkitErrorMessage(_ error: OpaquePointer?) -> UnsafePointer<CChar>? {
    let empty: StaticString = ""
    guard let error, let message = CErrorObject.borrowed(error).message else {
        return UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self)
    }
    return UnsafePointer(message)
}

/// `sealkit_error_status_word` (sealkit.h).
@_cdecl("sealkit_error_status_word")
package func sealkitErrorStatusWord(_ error: OpaquePointer?) -> Int32 {
    guard let error else { return -1 }
    return CErrorObject.borrowed(error).details.statusWord
}

/// `sealkit_error_tries_remaining` (sealkit.h).
@_cdecl("sealkit_error_tries_remaining")
package func sealkitErrorTriesRemaining(_ error: OpaquePointer?) -> Int32 {
    guard let error else { return -1 }
    return CErrorObject.borrowed(error).details.triesRemaining
}

/// `sealkit_error_free` (sealkit.h).
@_cdecl("sealkit_error_free")
package func sealkitErrorFree(_ error: OpaquePointer?) {
    guard let error else { return }
    Unmanaged<CErrorObject>.fromOpaque(UnsafeRawPointer(error)).release()
}

/// `sealkit_code_name` (sealkit.h).
@_cdecl("sealkit_code_name")
package func sealkitCodeName(_ code: Int32) -> UnsafePointer<CChar> {
    let name = CErrorDetails.names[code] ?? "SEALKIT_E_UNKNOWN"
    // A StaticString literal is stored NUL-terminated in the binary's read-only data.
    return UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// `sealkit_string_free` (sealkit.h).
@_cdecl("sealkit_string_free")
package func sealkitStringFree(_ string: UnsafeMutablePointer<CChar>?) {
    free(string)
}

/// The release as a C string, made once (a global's lazy, thread-safe initialization) and kept for
/// the life of the process. `nonisolated(unsafe)`: nothing writes through the pointer; C only
/// reads it.
nonisolated(unsafe) private let versionString = strdup(SealKitVersion.current)

/// `sealkit_version` (sealkit.h).
@_cdecl("sealkit_version")
package func sealkitVersion() -> UnsafePointer<CChar>? {
    UnsafePointer(versionString)
}
