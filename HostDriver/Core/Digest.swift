#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SHA-256, the digest a stamp signs, so that integrators need no cryptography package of their own.
///
/// ```swift
/// let digest = try SealDigest.sha256(contentsOf: pdfURL)       // streamed, constant memory
/// let record = try await token.stamp(documentDigest: digest, metadata: metadata)
/// ```
///
/// ``SealToken/stamp(document:metadata:grant:)``, ``SealToken/stamp(documentAt:metadata:grant:)``
/// and ``StampVerifier/verify(_:documentAt:options:)`` hash for you; use this type when the digest
/// is computed apart from the token (e.g. on another machine than the one holding it).
public enum SealDigest {
    /// How many bytes ``sha256(contentsOf:)`` reads at a time: 1 MiB, whatever the file's size.
    public static let fileChunkSize = 1 << 20

    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    /// SHA-256 of the contents of the file at `url` (32 bytes), read in chunks of
    /// ``fileChunkSize`` bytes so that memory use does not grow with the file.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/fileUnreadable`` when `url` is not a file URL,
    ///   or the file cannot be opened or read (missing, a directory, no permission, an I/O error).
    public static func sha256(contentsOf url: URL) throws(SealDriverError) -> [UInt8] {
        guard url.isFileURL else {
            throw SealDriverError(code: .fileUnreadable, reason: "\(url) is not a file URL")
        }
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw fileError(path, "cannot open", errno)
        }
        defer { _ = close(descriptor) }

        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: fileChunkSize)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            } else if count == 0 {
                return Array(hasher.finalize())
            } else if errno != EINTR {
                throw fileError(path, "cannot read", errno)
            }
        }
    }

    private static func fileError(_ path: String, _ what: String, _ number: Int32) -> SealDriverError {
        SealDriverError(code: .fileUnreadable, reason: "\(what) \(path): \(String(cString: strerror(number)))")
    }
}

/// SHA-256 as a byte array (the one implementation is ``SealDigest/sha256(_:)``).
func sha256(_ bytes: [UInt8]) -> [UInt8] {
    SealDigest.sha256(bytes)
}

/// Compares two byte strings in time independent of where they differ (for digests and MACs).
func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}
