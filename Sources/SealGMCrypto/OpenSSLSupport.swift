import COpenSSL

/// OpenSSL's per-thread error queue: read once after a failed call and emptied, so that a stale
/// entry never shows up in a later, unrelated error.
enum OpenSSLErrorQueue {
    /// `": <OpenSSL's text>"` for the first queued error, or `""`; the queue is emptied.
    static func drain() -> String {
        let first = ERR_get_error()
        ERR_clear_error()
        guard first != 0 else { return "" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(first, &text, text.count)
        let bytes = text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return ": " + String(decoding: bytes, as: UTF8.self)
    }
}

/// An `EVP_PKEY` owned by Swift. OpenSSL 3 documents a key that is no longer modified as safe to
/// use from several threads at once as long as each operation has its own `EVP_PKEY_CTX` (which
/// every method here creates), so an immutable reference to one is sendable.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Takes ownership of one reference to `pointer`.
    init(owning pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    /// Whether OpenSSL treats the key as an SM2 key (the SM2 curve loads as key type `SM2`).
    var isSM2: Bool { EVP_PKEY_is_a(pointer, "SM2") == 1 }
}

/// Reads all of a memory BIO.
func readAll(_ bio: OpaquePointer) -> [UInt8] {
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = BIO_read(bio, &chunk, Int32(chunk.count))
        if count <= 0 { break }
        output += chunk[0..<Int(count)]
    }
    return output
}

/// Calls `body` with a read-only memory BIO over `bytes` (valid only inside `body`).
func withMemoryBIO<Result>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> Result) throws -> Result {
    try bytes.withUnsafeBytes { buffer in
        guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else {
            throw GMCryptoError.openSSL(.openSSLFailure, "BIO_new_mem_buf failed")
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }
}
