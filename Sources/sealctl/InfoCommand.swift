import ArgumentParser
import Foundation
import SealHostDriver
import SealProtocol

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the token's identity, lifecycle, counter, PIN tries and seal key.")

    @OptionGroup var target: TargetOptions
    @OptionGroup var output: OutputOptions

    struct Output: Encodable {
        let chipID: String
        let lifecycle: String
        let counter: UInt32
        let answerToReset: String
        let pinTriesRemaining: UInt8?
        let pinTryLimit: UInt8?
        let pukTriesRemaining: UInt8?
        let organizationName: String?
        let sealName: String?
        let featureHash: String?
        let remoteAuthorizationRequired: Bool?
        let watermarkValiditySeconds: UInt32?
        let sealPublicKey: String?
        let sealKeyID: String?
        let specVersion: String
        let auditLogCapacity: UInt16
        let deviceCertificateSubject: String
    }

    func run() async throws {
        let (info, subject) = try await withToken(target, output) { token in
            let info = try await token.info()
            let certificate = try await token.deviceCertificateDER()
            return (info, CertificateText.subject(of: certificate))
        }
        let out = Output(
            chipID: info.chipIDHex, lifecycle: info.lifecycle.description, counter: info.counter,
            answerToReset: hexString(info.answerToReset), pinTriesRemaining: info.pinStatus?.pinTriesRemaining,
            pinTryLimit: info.pinStatus?.pinTryLimit, pukTriesRemaining: info.pinStatus?.pukTriesRemaining,
            organizationName: info.personalization?.organizationName, sealName: info.personalization?.sealName,
            featureHash: info.personalization.map { hexString($0.featureHash) },
            remoteAuthorizationRequired: info.personalization?.requiresRemoteAuthorization,
            watermarkValiditySeconds: info.personalization?.watermarkValiditySeconds,
            sealPublicKey: info.sealPublicKey.map { hexString($0) }, sealKeyID: info.sealKeyID.map { hexString($0) },
            specVersion: info.capabilities.specVersion.map { String($0) }.joined(separator: "."),
            auditLogCapacity: info.capabilities.auditLogCapacity, deviceCertificateSubject: subject)
        if output.json {
            try printJSON(out)
            return
        }
        print("token:        \(target.targetDescription)")
        print("chip ID:      \(out.chipID)")
        print("lifecycle:    \(out.lifecycle)")
        print("counter:      \(out.counter)")
        print("ATR:          \(out.answerToReset)")
        print("certificate:  \(out.deviceCertificateSubject)")
        if let p = info.pinStatus {
            print("PIN tries:    \(p.pinTriesRemaining)/\(p.pinTryLimit)   PUK tries: \(p.pukTriesRemaining)/\(p.pukTryLimit)")
        }
        if let perso = info.personalization {
            print("organization: \(perso.organizationName)")
            print("seal:         \(perso.sealName)")
            print("feature hash: \(hexString(perso.featureHash))")
            print("policy:       remote authorization \(perso.requiresRemoteAuthorization ? "required" : "not required"), watermark valid \(perso.watermarkValiditySeconds / 86_400) days")
        }
        if let key = info.sealKeyID { print("seal key ID:  \(hexString(key))") }
        print("spec:         \(out.specVersion), audit log keeps \(out.auditLogCapacity) stamps")
    }
}
