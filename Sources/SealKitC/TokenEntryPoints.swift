import CSealKit
import SealKitCBridge
import SealHostDriver
import SealPCSC
import SealProtocol
import SealUSB

/// The object behind a `sealkit_token *`: a connected ``SealToken``.
///
/// ``SealToken`` is an actor that runs its operations one at a time in call order, which is what
/// the header's thread-safety section promises for a handle shared by several C threads.
final class TokenHandle: Sendable {
    let token: SealToken

    init(token: SealToken) {
        self.token = token
    }
}

/// Checks the C arguments and makes a recipe for the transport (`prepare`, on the caller's
/// thread), then makes the transport, connects a token over it and hands the handle to C. A token
/// that fails to connect is closed, so its transport is released. The thread is checked after
/// `prepare`, so that a caller's transport it adopted is released (when the recipe is dropped)
/// even when the call is refused.
///
/// The chip is authenticated under the caller's vendor roots (SPEC §14.2): roots that hold no
/// certificate are `SEALKIT_E_ROOTS_INVALID` before the token is touched; no roots (NULL, 0) leave
/// the driver nothing to trust, so it refuses the chip at connect with
/// `SEALKIT_E_CHIP_NOT_AUTHENTICATED`, as does a chip certified under another root.
private func openToken(
    _ error: UnsafeMutablePointer<OpaquePointer?>?,
    vendorRoots: UnsafeRawPointer?, vendorRootsLength: Int,
    _ prepare: () throws -> @Sendable () async throws -> any CardTransport
) -> OpaquePointer? {
    cEntry(error, failure: nil, checksThread: false) {
        let makeTransport = try prepare()
        let secureChannel = try chipTrust(vendorRoots, vendorRootsLength)
        try refuseTaskThread()
        let handle = try runBlocking {
            let token = SealToken(transport: try await makeTransport(), secureChannel: secureChannel)
            do {
                try await token.connect()
            } catch {
                await token.close()
                throw error
            }
            return TokenHandle(token: token)
        }
        return OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    }
}

/// The secure-channel settings for the caller's vendor roots (PEM text or one DER certificate, as
/// `sealkit_verify_record` takes them); none when NULL and 0.
private func chipTrust(_ roots: UnsafeRawPointer?, _ length: Int) throws -> SecureChannelSettings {
    let bytes = try bytesArgument(roots?.assumingMemoryBound(to: UInt8.self), count: length, "vendor roots")
    guard !bytes.isEmpty else { return SecureChannelSettings() }
    return SecureChannelSettings(trustedVendorRoots: try RecordVerification.verifier(roots: bytes).trustedRoots)
}

/// `sealkit_token_open_pcsc` (sealkit.h).
@_cdecl("sealkit_token_open_pcsc")
package func sealkitTokenOpenPCSC(_ reader: UnsafePointer<CChar>?, _ flags: UInt32,
                                 _ vendorRoots: UnsafeRawPointer?, _ vendorRootsLength: Int,
                                 _ error: UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer? {
    openToken(error, vendorRoots: vendorRoots, vendorRootsLength: vendorRootsLength) {
        let query = try stringArgument(reader, "reader")
        // Refused here rather than after asking pcscd, so the error does not depend on pcscd.
        guard !query.isEmpty else { throw PCSCError(code: .invalidArgument, reason: "the reader name is empty") }
        guard flags & ~SEALKIT_PCSC_EXCLUSIVE == 0 else {
            throw CLibraryError.invalidArgument("unknown flags 0x\(String(flags, radix: 16)) (only SEALKIT_PCSC_EXCLUSIVE is defined)")
        }
        let shareMode: PCSCTransport.ShareMode = flags & SEALKIT_PCSC_EXCLUSIVE != 0 ? .exclusive : .shared
        return { PCSCTransport(readerName: try await PCSCTransport.resolve(readerQuery: query), shareMode: shareMode) }
    }
}

/// `sealkit_token_open_usb` (sealkit.h).
@_cdecl("sealkit_token_open_usb")
package func sealkitTokenOpenUSB(_ device: UnsafePointer<CChar>?,
                                _ vendorRoots: UnsafeRawPointer?, _ vendorRootsLength: Int,
                                _ error: UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer? {
    openToken(error, vendorRoots: vendorRoots, vendorRootsLength: vendorRootsLength) {
        let deviceID = try optionalStringArgument(device, "device")
        return { try await CCIDTransport.usb(deviceID == "any" ? nil : deviceID) }
    }
}

/// `sealkit_token_open_usbip` (sealkit.h).
@_cdecl("sealkit_token_open_usbip")
package func sealkitTokenOpenUSBIP(_ address: UnsafePointer<CChar>?,
                                  _ vendorRoots: UnsafeRawPointer?, _ vendorRootsLength: Int,
                                  _ error: UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer? {
    openToken(error, vendorRoots: vendorRoots, vendorRootsLength: vendorRootsLength) {
        let text = try stringArgument(address, "address")
        return { try await CCIDTransport.usbip(text) }
    }
}

/// `sealkit_token_open_transport` (sealkit.h).
@_cdecl("sealkit_token_open_transport")
package func sealkitTokenOpenTransport(_ transport: UnsafePointer<sealkit_transport>?,
                                      _ vendorRoots: UnsafeRawPointer?, _ vendorRootsLength: Int,
                                      _ error: UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer? {
    openToken(error, vendorRoots: vendorRoots, vendorRootsLength: vendorRootsLength) {
        guard let transport else { throw CLibraryError.invalidArgument("transport is NULL") }
        // The token owns the caller's functions from here on: `release` is the close action, and
        // runs (once) even when the functions are refused.
        let functions = CTransportFunctions(transport.pointee)
        guard functions.hasRequiredFunctions else {
            functions.release()
            throw CLibraryError.invalidArgument("the transport needs `connect` and `transmit` functions")
        }
        let given = transport.pointee.name.flatMap { String(validatingCString: $0) }
        let callbacks = CallbackCardTransport(name: given.map { $0.isEmpty ? "C transport" : $0 } ?? "C transport",
                                              functions: functions, closeAction: functions.release)
        return { callbacks }
    }
}

/// `sealkit_token_close` (sealkit.h).
@_cdecl("sealkit_token_close")
package func sealkitTokenClose(_ token: OpaquePointer?) {
    guard let token else { return }
    let handle = Unmanaged<TokenHandle>.fromOpaque(UnsafeRawPointer(token)).takeRetainedValue()
    // close() never throws; the result is only the completion signal.
    _ = try? runBlocking { await handle.token.close() }
}

/// `sealkit_token_info` (sealkit.h).
@_cdecl("sealkit_token_info")
package func sealkitTokenInfo(_ token: OpaquePointer?,
                             _ error: UnsafeMutablePointer<OpaquePointer?>?) -> UnsafeMutablePointer<CChar>? {
    cEntry(error, failure: nil) {
        let handle = try borrowedToken(token)
        let info = try runBlocking { try await handle.token.info() }
        return try returnedString(try TokenInfoJSON(info, transport: handle.token.transport.name).encoded())
    }
}

/// `sealkit_token_verify_pin` (sealkit.h).
@_cdecl("sealkit_token_verify_pin")
package func sealkitTokenVerifyPIN(_ token: OpaquePointer?, _ pin: UnsafePointer<CChar>?,
                                  _ error: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    cStatusEntry(error) {
        let handle = try borrowedToken(token)
        let text = try stringArgument(pin, "PIN")
        try runBlocking { try await handle.token.verifyPIN(text) }
    }
}

/// `sealkit_token_stamp_digest` (sealkit.h).
@_cdecl("sealkit_token_stamp_digest")
package func sealkitTokenStampDigest(_ token: OpaquePointer?, _ digest: UnsafePointer<UInt8>?, _ digestLength: Int,
                                    _ metadataJSON: UnsafePointer<CChar>?,
                                    _ error: UnsafeMutablePointer<OpaquePointer?>?) -> UnsafeMutablePointer<CChar>? {
    cEntry(error, failure: nil) {
        let handle = try borrowedToken(token)
        let bytes = try digestArgument(digest, digestLength, "digest")
        let metadata = try MetadataInput.decode(json: try optionalStringArgument(metadataJSON, "metadata JSON"))
        return try stamp(handle, digest: bytes, metadata: metadata)
    }
}

/// `sealkit_token_stamp_digest_fields` (sealkit.h).
@_cdecl("sealkit_token_stamp_digest_fields")
package func sealkitTokenStampDigestFields(_ token: OpaquePointer?, _ digest: UnsafePointer<UInt8>?, _ digestLength: Int,
                                          _ metadata: UnsafePointer<sealkit_metadata>?,
                                          _ error: UnsafeMutablePointer<OpaquePointer?>?) -> UnsafeMutablePointer<CChar>? {
    cEntry(error, failure: nil) {
        let handle = try borrowedToken(token)
        let bytes = try digestArgument(digest, digestLength, "digest")
        let fields = try MetadataInput.decode(fields: metadata?.pointee)
        return try stamp(handle, digest: bytes, metadata: fields)
    }
}

private func stamp(_ handle: TokenHandle, digest: [UInt8], metadata: StampMetadata) throws -> UnsafeMutablePointer<CChar> {
    let record = try runBlocking { try await handle.token.stamp(documentDigest: digest, metadata: metadata) }
    return try returnedString(String(decoding: try record.jsonData(), as: UTF8.self))
}

/// A SHA-256 digest argument: exactly 32 bytes.
func digestArgument(_ pointer: UnsafePointer<UInt8>?, _ length: Int, _ name: String) throws(CLibraryError) -> [UInt8] {
    guard pointer != nil else { throw .invalidArgument("\(name) is NULL") }
    guard length == 32 else { throw .invalidArgument("\(name) must be 32 bytes (SHA-256), got \(length)") }
    return try bytesArgument(pointer, count: length, name)
}
