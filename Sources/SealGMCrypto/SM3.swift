import COpenSSL

/// The SM3 hash function (GB/T 32905), computed by OpenSSL.
public enum SM3 {
    /// The length of an SM3 digest in bytes.
    public static let byteCount = 32

    /// The SM3 digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let compute = { (input: UnsafeBufferPointer<UInt8>) -> Int32 in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sm3(), nil)
        }
        let ok = bytes.withContiguousStorageIfAvailable(compute) ?? Array(bytes).withUnsafeBufferPointer(compute)
        // EVP_Digest fails only when allocation fails; no input makes SM3 fail.
        precondition(ok == 1 && Int(length) == byteCount, "OpenSSL failed to compute SM3")
        return digest
    }
}
