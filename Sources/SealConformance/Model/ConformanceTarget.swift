import Crypto
import SealHostDriver
import SealProtocol
import X509

/// A token personalized with remote authorization required (SPEC §8.11 policy bit0), the key of its
/// remote authority, and its PIN.
public typealias RemoteAuthorizationToken = (transport: any CardTransport, authority: P256.Signing.PrivateKey, pin: String)

/// Which rules a target is held to (SPEC §13.1).
public enum ConformanceProfile: String, Sendable, Hashable, Codable, CaseIterable {
    /// A chip whose seal applet is its native operating system: every rule applies.
    case native
    /// A seal applet on Java Card: the native-OS rules (ATR, `6D00` before selection, logical
    /// channels; ``ConformanceCatalog/nativeOSCaseIDs``) belong to the card's runtime, not to the
    /// applet, and their cases are skipped.
    case javaCard = "java-card"
}

/// Everything a conformance run needs, supplied by `sealctl conformance` or by tests as closures.
public struct ConformanceTarget: Sendable {
    /// A name for reports ("SealKit in-process simulator", a reader name, …).
    public var name: String
    /// Opens the token under test: ACTIVE, PIN and PUK known. Called once per case (plus once for
    /// the run's metadata); each returned transport is connected, used and disconnected.
    public var openToken: @Sendable () async throws -> any CardTransport
    /// The PIN of the token under test (restored by every case that changes it).
    public var pin: String
    /// The PUK of the token under test.
    public var puk: String
    /// The issuer key installed at manufacture (SPEC §8.4); `nil` skips `.issuerKey` cases.
    public var issuerSigner: (any IssuerSigner)?
    /// Vendor CA roots the device certificates chain to (SPEC §12).
    public var vendorRoots: [Certificate]
    /// Returns a new MANUFACTURED token whose issuer key is ``issuerSigner``; `nil` skips `.freshToken` cases.
    public var makeFreshToken: (@Sendable () async throws -> any CardTransport)?
    /// Returns a new ACTIVE token personalized with remote authorization required; `nil` skips
    /// `.remoteAuthorityToken` cases.
    public var makeRemoteAuthorizationToken: (@Sendable () async throws -> RemoteAuthorizationToken)?
    /// Whether the tokens are simulated (fresh tokens then offer fault injection).
    public var isSimulator: Bool
    /// Which rules apply: ``ConformanceProfile/native`` unless set.
    public var profile: ConformanceProfile = .native

    /// Creates a target; only ``name``, ``openToken``, ``pin`` and ``puk`` are required, and every
    /// optional part left out skips the cases that need it (``missingReason(_:)`` says which).
    public init(
        name: String,
        openToken: @escaping @Sendable () async throws -> any CardTransport,
        pin: String,
        puk: String,
        issuerSigner: (any IssuerSigner)? = nil,
        vendorRoots: [Certificate] = [],
        makeFreshToken: (@Sendable () async throws -> any CardTransport)? = nil,
        makeRemoteAuthorizationToken: (@Sendable () async throws -> RemoteAuthorizationToken)? = nil,
        isSimulator: Bool = false
    ) {
        self.name = name
        self.openToken = openToken
        self.pin = pin
        self.puk = puk
        self.issuerSigner = issuerSigner
        self.vendorRoots = vendorRoots
        self.makeFreshToken = makeFreshToken
        self.makeRemoteAuthorizationToken = makeRemoteAuthorizationToken
        self.isSimulator = isSimulator
    }

    /// The requirements this target offers.
    public var offeredRequirements: Set<ConformanceRequirement> {
        var offered: Set<ConformanceRequirement> = []
        if issuerSigner != nil { offered.insert(.issuerKey) }
        if makeFreshToken != nil, issuerSigner != nil { offered.insert(.freshToken) }
        if makeFreshToken != nil, issuerSigner != nil, isSimulator { offered.insert(.faultInjection) }
        if makeRemoteAuthorizationToken != nil { offered.insert(.remoteAuthorityToken) }
        return offered
    }

    /// Why `requirement` is not offered, or `nil` when it is.
    public func missingReason(_ requirement: ConformanceRequirement) -> String? {
        guard !offeredRequirements.contains(requirement) else { return nil }
        switch requirement {
        case .issuerKey:
            return "requires the issuer key (.issuerKey): no issuer signer configured"
        case .freshToken:
            return makeFreshToken == nil
                ? "requires fresh MANUFACTURED tokens (.freshToken): no token factory configured"
                : "requires fresh MANUFACTURED tokens (.freshToken): they are personalized with the issuer key, and no issuer signer is configured"
        case .faultInjection:
            return "requires power-loss injection (.faultInjection): simulator only"
        case .remoteAuthorityToken:
            return "requires a remote-authorization token and its authority key (.remoteAuthorityToken): none configured"
        }
    }
}
