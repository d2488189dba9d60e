import X509

/// How a ``SealToken`` uses the chip's secure channel (Protocol/SPEC.md §14).
///
/// The chip is authenticated by default: its key-agreement certificate must chain to one of
/// ``trustedVendorRoots``, and a token whose settings name no root refuses every chip at
/// ``SealToken/connect()`` with ``SealDriverError/Code-swift.struct/chipNotAuthenticated``.
/// Pass the vendor's root:
///
/// ```swift
/// let root = try Certificate(pemEncoded: vendorRootPEM)
/// let token = SealToken(transport: transport, secureChannel: SecureChannelSettings(trustedVendorRoots: [root]))
/// ```
///
/// Only tests against chips that carry no vendor-issued certificate opt out, by name:
/// ``unauthenticatedChip``.
public struct SecureChannelSettings: Sendable {
    /// Open an SCP11b (holder) channel at every connect, reset and SELECT, and wrap every command
    /// in it. On by default; off only for tokens made before the secure channel existed.
    public var opensHolderChannel: Bool
    /// The vendor roots the chip's key-agreement certificate must chain to. A chip whose
    /// certificate chains to none of them is refused with
    /// ``SealDriverError/Code-swift.struct/chipNotAuthenticated``; so is every chip when the list
    /// is empty, unless ``allowsUnauthenticatedChip`` is set.
    public var trustedVendorRoots: [Certificate]
    /// Take the chip's key-agreement key without checking that a vendor certified it (the
    /// certificate is still checked for key usage and key type). The channel then keeps out
    /// passive middleware and active middleware that does not also replace the certificate, but
    /// does not authenticate the chip: anyone can pose as the token. FOR TESTS against chips with
    /// no vendor certificate only. Ignored when ``trustedVendorRoots`` is not empty.
    public var allowsUnauthenticatedChip: Bool

    /// Settings that authenticate the chip under `trustedVendorRoots`; the holder channel opens by
    /// default. With no roots (and `allowsUnauthenticatedChip` false) every chip is refused.
    public init(opensHolderChannel: Bool = true, trustedVendorRoots: [Certificate] = [], allowsUnauthenticatedChip: Bool = false) {
        self.opensHolderChannel = opensHolderChannel
        self.trustedVendorRoots = trustedVendorRoots
        self.allowsUnauthenticatedChip = allowsUnauthenticatedChip
    }

    /// No secure channel: commands go plain and the chip is not authenticated. Chips of protocol
    /// v2 refuse PIN, STAMP and issuer commands outside a channel.
    public static let plain = SecureChannelSettings(opensHolderChannel: false)

    /// The holder channel opens, but the chip is NOT authenticated (``allowsUnauthenticatedChip``):
    /// for tests against chips with no vendor certificate only, never for a token that stamps.
    public static let unauthenticatedChip = SecureChannelSettings(allowsUnauthenticatedChip: true)
}
