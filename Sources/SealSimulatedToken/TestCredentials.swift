// The test-only credentials of Fixtures/ (see Fixtures/README.md), embedded so that an installed
// `sealctl`/`sealsim` works without a checkout. A test checks these equal the Fixtures files.
// TEST ONLY: these keys are public; nothing they sign proves anything about a real seal.

/// Test-only keys and the test vendor root, identical to the files under Fixtures/.
public enum TestCredentials {
    /// Fixtures/test-vendor-ca/ca-cert.pem
    public static let vendorRootCertificatePEM = """
-----BEGIN CERTIFICATE-----
MIICLzCCAdWgAwIBAgIUTCr06P7SmYIwjwPYjobys0PY6F8wCgYIKoZIzj0EAwIw
ZTE9MDsGA1UECgw0U2VhbEtpdCBUZXN0IFZlbmRvciAoVEVTVCBPTkxZIC0gTk9U
IEZPUiBQUk9EVUNUSU9OKTEkMCIGA1UEAwwbU2VhbEtpdCBUZXN0IFZlbmRvciBS
b290IENBMB4XDTI2MTEyNTE5NTYzM1oXDTQ2MTEyMDE5NTYzM1owZTE9MDsGA1UE
Cgw0U2VhbEtpdCBUZXN0IFZlbmRvciAoVEVTVCBPTkxZIC0gTk9UIEZPUiBQUk9E
VUNUSU9OKTEkMCIGA1UEAwwbU2VhbEtpdCBUZXN0IFZlbmRvciBSb290IENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAbIdE/yPqFkHiU4Jr+gfRLI64ixjb2w9
K5gvXlgrUWE86sUB6ga3WmfzjYY62bhYOIBFxW/rtxUfPKBmlzfUKKNjMGEwHwYD
VR0jBBgwFoAUFLKMJM2NeL5r8bDh3cZA1BegrZAwDwYDVR0TAQH/BAUwAwEB/zAO
BgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFBSyjCTNjXi+a/Gw4d3GQNQXoK2QMAoG
CCqGSM49BAMCA0gAMEUCIAshubygzN22aNhiRIrZi2ugQtU3QzNOkJYOrtiR7dxL
AiEAkRT54DZpvVNBrjYkuihBe+brT/R9sLlkH8rUgKL6++w=
-----END CERTIFICATE-----
"""

    /// Fixtures/test-vendor-ca/ca-key.pem
    public static let vendorRootKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqgNw0O5fpa5PxCN4
uU1REmUGS/4tULZVA2F47A3pTjahRANCAAQBsh0T/I+oWQeJTgmv6B9EsjriLGNv
bD0rmC9eWCtRYTzqxQHqBrdaZ/ONhjrZuFg4gEXFb+u3FR88oGaXN9Qo
-----END PRIVATE KEY-----
"""

    /// Fixtures/test-issuer/issuer-key.pem
    public static let issuerKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvapzgpwDowJ+PQvB
cFwR/GzAguYGRmyipI+ga+SqCfyhRANCAAQt2IGFH0hxngGULvyxz8RkWO+pgr0X
uyhi0MNCj0s51uj4k4MPeyi4cVLfAsxXeviHXGaXf4YB99reAKx5X8mm
-----END PRIVATE KEY-----
"""

    /// Fixtures/test-remote-authority/authority-key.pem
    public static let remoteAuthorityKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgeaB9fF7vaOoC/pdM
TLoo7wVD0TsA1viW8Vwqt49+7qehRANCAAQhdO1tdoRL+b0ZPNJiwOdWj4S1Dufe
Oz2eS7bM131xbGuTiPhefmu/MZ55M7s2UA1Qb0kMSKV9JYdUKcd9zjlb
-----END PRIVATE KEY-----
"""

    /// PIN of the default simulated token (documented in the README).
    public static let defaultPIN = "123456"
    /// PUK of the default simulated token.
    public static let defaultPUK = "12345678"
}
