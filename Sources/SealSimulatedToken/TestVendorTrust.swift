import SealHostDriver
import X509

extension SecureChannelSettings {
    /// Settings that authenticate the chip under the TEST vendor root of Fixtures/test-vendor-ca
    /// (``SimulatedTestToken/vendorRootPEM``), the root every simulated chip is manufactured under.
    ///
    /// TEST ONLY: the test root's key is public, so a chip that passes proves nothing about a real
    /// token. Were the constant root ever unparsable, these settings would trust no root and
    /// refuse every chip (fail closed) rather than take an unauthenticated one.
    public static let testVendorRoot = SecureChannelSettings(
        trustedVendorRoots: (try? Certificate(pemEncoded: TestCredentials.vendorRootCertificatePEM)).map { [$0] } ?? [])
}
