import X509

/// How a ``SealToken`` uses the chip's secure channel (Protocol/SPEC.md §14).
public struct SecureChannelSettings: Sendable {
    /// Open an SCP11b (holder) channel at every connect, reset and SELECT, and wrap every command
    /// in it. On by default; off only for tokens made before the secure channel existed.
    public var opensHolderChannel: Bool
    /// The vendor roots the chip's key-agreement certificate must chain to. Empty: the certificate
    /// is checked for key usage and key type, and its key is taken as it is — the channel then
    /// keeps out passive and active middleware that does not also replace the certificate, but does
    /// not authenticate the chip. Pass the vendor's root to authenticate it.
    public var trustedVendorRoots: [Certificate]

    /// Settings with the given vendor roots; the holder channel opens by default.
    public init(opensHolderChannel: Bool = true, trustedVendorRoots: [Certificate] = []) {
        self.opensHolderChannel = opensHolderChannel
        self.trustedVendorRoots = trustedVendorRoots
    }

    /// No secure channel: commands go plain. Chips of protocol v2 refuse PIN, STAMP and issuer
    /// commands outside a channel.
    public static let plain = SecureChannelSettings(opensHolderChannel: false)
}
