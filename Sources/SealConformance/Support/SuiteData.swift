import Crypto
import Foundation
import SealProtocol

/// The data the suite stamps and personalizes with.
package enum SuiteData {
    /// PIN and PUK the suite personalizes fresh tokens with.
    package static let freshPIN = "24681357"
    package static let freshPUK = "1357924680"
    /// Try limits of fresh tokens: small, so blocking takes few commands.
    package static let freshPINTryLimit: UInt8 = 3
    package static let freshPUKTryLimit: UInt8 = 3
    package static let freshValidity: UInt32 = 30 * 86_400

    /// A personalization with a random watermark key (so no two fresh tokens share one).
    package static func personalization(
        pin: String = freshPIN, puk: String = freshPUK, pinTryLimit: UInt8 = freshPINTryLimit, pukTryLimit: UInt8 = freshPUKTryLimit,
        remoteAuthorityKey: [UInt8]? = nil, requiresRemoteAuthorization: Bool = false,
        validity: UInt32 = freshValidity, watermarkKey: [UInt8]? = nil, sealName: String = "Conformance Seal",
        sealImageHash: [UInt8]? = sealImageHash, requiresPINPerStamp: Bool = true, auditLogRequiresAuthentication: Bool = false,
        timeToleranceSeconds: UInt32 = PersonalizationData.defaultTimeTolerance
    ) -> PersonalizationData {
        PersonalizationData(
            organizationName: "SealKit Conformance Suite", sealName: sealName,
            featureHash: Array(SHA256.hash(data: Array("SealKit conformance imprint".utf8))),
            pin: pin, pinTryLimit: pinTryLimit, puk: puk, pukTryLimit: pukTryLimit,
            remoteAuthorityKey: remoteAuthorityKey, requiresRemoteAuthorization: requiresRemoteAuthorization,
            watermarkValiditySeconds: validity, watermarkKey: watermarkKey ?? randomBytes(32), sealImageHash: sealImageHash,
            requiresPINPerStamp: requiresPINPerStamp, auditLogRequiresAuthentication: auditLogRequiresAuthentication,
            timeToleranceSeconds: timeToleranceSeconds)
    }

    /// The seal image hash fresh tokens are personalized with (tag `4C`).
    package static let sealImageHash: [UInt8] = Array(SHA256.hash(data: Array("SealKit conformance seal image".utf8)))

    /// SHA-256 of a document text unique to the case and `index`.
    package static func documentDigest(_ label: String, _ index: Int = 0) -> [UInt8] {
        Array(SHA256.hash(data: Array("SealKit conformance document \(label) #\(index) \(UUID().uuidString)".utf8)))
    }

    /// Now, in seconds since the epoch.
    package static func now() -> UInt64 {
        UInt64(Date().timeIntervalSince1970)
    }

    /// Minimal metadata: the time only.
    package static func metadata(time: UInt64 = now()) -> StampMetadata {
        StampMetadata(time: time)
    }

    /// Metadata with every optional field set.
    package static func fullMetadata(time: UInt64 = now()) -> StampMetadata {
        StampMetadata(time: time, latitudeMicrodegrees: 31_230_400, longitudeMicrodegrees: 121_473_700,
                      operatorID: "conformance-operator", deviceFingerprint: [0xDE, 0xAD, 0xBE, 0xEF],
                      organizationUnit: "Conformance", approvalNode: "Lab", documentName: "Conformance contract.pdf",
                      operatorBiometricReference: Array(SHA256.hash(data: Array("conformance biometric template".utf8))))
    }

    package static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// A wrong PIN of the same length as `pin` (every digit shifted by one).
    package static func wrongPIN(for pin: String) -> String {
        String(pin.map { char -> Character in
            guard let digit = char.wholeNumberValue else { return "0" }
            return Character(String((digit + 1) % 10))
        })
    }
}
