#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SealHostDriver
import SealProtocol

/// The JSON object of `sealkit_token_info` (the keys are listed in sealkit.h). Absent values are
/// absent keys.
struct TokenInfoJSON: Encodable {
    let transport: String
    let chipID: String
    let lifecycle: String
    let counter: UInt32
    let answerToReset: String
    let pinTriesRemaining: UInt8?
    let pinTryLimit: UInt8?
    let pukTriesRemaining: UInt8?
    let pukTryLimit: UInt8?
    let organizationName: String?
    let sealName: String?
    let featureHash: String?
    let remoteAuthorizationRequired: Bool?
    let watermarkValiditySeconds: UInt32?
    let sealPublicKey: String?
    let sealKeyID: String?
    let specVersion: String
    let maxCommandData: UInt16
    let auditLogCapacity: UInt16
    let features: [String]

    init(_ info: SealTokenInfo, transport: String) {
        self.transport = transport
        chipID = info.chipIDHex
        lifecycle = info.lifecycle.description
        counter = info.counter
        answerToReset = hexString(info.answerToReset)
        pinTriesRemaining = info.pinStatus?.pinTriesRemaining
        pinTryLimit = info.pinStatus?.pinTryLimit
        pukTriesRemaining = info.pinStatus?.pukTriesRemaining
        pukTryLimit = info.pinStatus?.pukTryLimit
        organizationName = info.personalization?.organizationName
        sealName = info.personalization?.sealName
        featureHash = info.personalization.map { hexString($0.featureHash) }
        remoteAuthorizationRequired = info.personalization?.requiresRemoteAuthorization
        watermarkValiditySeconds = info.personalization?.watermarkValiditySeconds
        sealPublicKey = info.sealPublicKey.map { hexString($0) }
        sealKeyID = info.sealKeyID.map { hexString($0) }
        specVersion = info.capabilities.specVersion.map { String($0) }.joined(separator: ".")
        maxCommandData = info.capabilities.maxCommandData
        auditLogCapacity = info.capabilities.auditLogCapacity
        let named: [(SealCapabilities.Features, String)] = [
            (.commandChaining, "commandChaining"), (.extendedLength, "extendedLength"),
            (.remoteAuthorization, "remoteAuthorization"),
        ]
        features = named.filter { info.capabilities.features.contains($0.0) }.map(\.1)
    }

    func encoded() throws -> String {
        try JSONOutput.string(self)
    }
}

/// The JSON the library returns: pretty-printed with sorted keys, like the record files.
enum JSONOutput {
    static func string(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
