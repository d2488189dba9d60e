import CSealKitSKF
import Foundation
import SealESeal
import SealGMCrypto
import SealHostDriver
import SealKitCBridge
import SealProtocol

/// The one container: the seal key.
let containerName = "SEAL"

/// `SKF_EnumContainer` (skf.h): the seal key once the token has one.
@_cdecl("SKF_EnumContainer")
package func skfEnumContainer(_ handle: UnsafeMutableRawPointer?, _ names: UnsafeMutablePointer<CChar>?,
                              _ size: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    skfEntry("SKF_EnumContainer") {
        let application = try SKFHandles.application(handle)
        let info = try runBlocking { try await application.device.token.info() }
        try writeSized(multiString(info.sealPublicKey == nil ? [] : [containerName]),
                       to: UnsafeMutableRawPointer(names)?.assumingMemoryBound(to: UInt8.self), size: size, "the container list")
    }
}

/// `SKF_OpenContainer` (skf.h).
@_cdecl("SKF_OpenContainer")
package func skfOpenContainer(_ application: UnsafeMutableRawPointer?, _ name: UnsafePointer<CChar>?,
                              _ handle: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> UInt32 {
    skfEntry("SKF_OpenContainer") {
        let owner = try SKFHandles.application(application)
        guard let handle else { throw SKFFailure(SAR_INVALIDPARAMERR, "phContainer is NULL") }
        handle.pointee = nil
        let text = try stringArgument(name, "szContainerName")
        guard text == containerName else { throw SKFFailure(SAR_FILE_NOT_EXIST, "the only container is \(containerName), not \(text)") }
        let info = try runBlocking { try await owner.device.token.info() }
        guard let key = info.sealPublicKey else {
            throw SKFFailure(SAR_FILE_NOT_EXIST, "the token has no seal key yet (it is \(info.lifecycle))")
        }
        let container = SKFContainer(device: owner.device, publicKey: key, algorithm: info.capabilities.sealKeyAlgorithm ?? .p256)
        handle.pointee = try SKFHandles.addContainer(container, application: application)
    }
}

/// `SKF_CloseContainer` (skf.h): prepared signatures not handed out are dropped with it.
@_cdecl("SKF_CloseContainer")
package func skfCloseContainer(_ handle: UnsafeMutableRawPointer?) -> UInt32 {
    skfEntry("SKF_CloseContainer") { try SKFHandles.removeContainer(handle) }
}

/// `SKF_ExportPublicKey` (skf.h): the seal key as an ECCPUBLICKEYBLOB.
@_cdecl("SKF_ExportPublicKey")
package func skfExportPublicKey(_ handle: UnsafeMutableRawPointer?, _ signing: Int32, _ blob: UnsafeMutablePointer<UInt8>?,
                                _ length: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    skfEntry("SKF_ExportPublicKey") {
        let container = try SKFHandles.container(handle)
        guard signing != 0 else { throw SKFFailure(SAR_KEYNOTFOUNTERR, "the container has a signing key only (the seal key)") }
        try writeSized(ECCBlob.publicKey(container.publicKey), to: blob, size: length, "ECCPUBLICKEYBLOB")
    }
}

/// `SKF_ExportCertificate` (skf.h): the seal key's certificate from the installed SES_Seal.
@_cdecl("SKF_ExportCertificate")
package func skfExportCertificate(_ handle: UnsafeMutableRawPointer?, _ signing: Int32, _ certificate: UnsafeMutablePointer<UInt8>?,
                                  _ length: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    skfEntry("SKF_ExportCertificate") {
        let container = try SKFHandles.container(handle)
        guard signing != 0 else { throw SKFFailure(SAR_CERTNOTFOUNTERR, "the container has no encryption certificate") }
        guard container.algorithm == .sm2 else {
            throw SKFFailure(SAR_CERTNOTFOUNTERR, "a P-256 seal key has no certificate (only an SM2 key has one, in its SES_Seal)")
        }
        guard let sealBytes = try runBlocking({ try await container.device.token.sesSeal() }) else {
            throw SKFFailure(SAR_CERTNOTFOUNTERR, "the token has no SES_Seal installed")
        }
        let seal = try SESeal(derEncoded: sealBytes)
        guard let signer = seal.property.signerCertificates.first(where: {
            (try? SM2Certificate(derEncoded: $0))?.publicKey.x963Representation == container.publicKey
        }) else {
            throw SKFFailure(SAR_CERTNOTFOUNTERR, "no certificate in the SES_Seal's list is for the seal key")
        }
        try writeSized(signer, to: certificate, size: length, "the certificate")
    }
}

/// `SKF_SealKit_PrepareStamp` (skf.h): STAMP-SES for the application's TBS_Sign.
@_cdecl("SKF_SealKit_PrepareStamp")
package func skfPrepareStamp(_ handle: UnsafeMutableRawPointer?, _ tbs: UnsafePointer<UInt8>?, _ tbsLength: UInt32,
                             _ signed: UnsafeMutablePointer<UInt8>?, _ signedLength: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    skfEntry("SKF_SealKit_PrepareStamp") {
        let container = try SKFHandles.container(handle)
        guard let signedLength else { throw SKFFailure(SAR_INVALIDPARAMERR, "pulSignedTBSLen is NULL") }
        let applicationTBS = try bytesArgument(tbs, tbsLength, "pbTBSSign")
        guard container.algorithm == .sm2 else {
            throw SKFFailure(SAR_NOTSUPPORTYETERR, "GB/T 38540 signatures need an SM2 seal key; this token's is P-256")
        }
        let token = container.device.token
        guard let sealBytes = try runBlocking({ try await token.sesSeal() }) else {
            throw SKFFailure(SAR_NOTSUPPORTYETERR, "the token has no SES_Seal installed")
        }
        let request = try StampPreparation(applicationTBS: applicationTBS, installedSeal: sealBytes)
        // Size query and too small a buffer are answered before the token is touched.
        let bound = try request.signedTBSBound()
        let capacity = signedLength.pointee
        signedLength.pointee = UInt32(bound)
        guard let signed else { return }
        guard capacity >= UInt32(bound) else {
            throw SKFFailure(SAR_BUFFER_TOO_SMALL, "the signed TBS_Sign may need \(bound) bytes, the buffer has \(capacity)")
        }
        let response = try runBlocking { try await token.stampSES(request.sesRequest) }
        let signedTBS = try request.signedTBS(response)
        let publicKey = try SM2PublicKey(x963Representation: container.publicKey)
        guard publicKey.isValidSignature(response.sesSignature, for: signedTBS) else {
            throw SKFFailure(SAR_FAIL, "the token's signature does not verify over the TBS_Sign it composed (counter \(response.stamp.counter))")
        }
        let digest = try publicKey.signedDigest(for: signedTBS)
        container.preparedSignatures.withLock { $0[digest] = response.sesSignature }
        signedLength.pointee = UInt32(signedTBS.count)
        signedTBS.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return }
            signed.update(from: base, count: source.count)
        }
    }
}

/// `SKF_ECCSignData` (skf.h): hands out the signature of a prepared stamp, once; refuses every
/// other digest.
@_cdecl("SKF_ECCSignData")
package func skfECCSignData(_ handle: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UInt8>?, _ length: UInt32,
                            _ signature: UnsafeMutablePointer<ECCSIGNATUREBLOB>?) -> UInt32 {
    skfEntry("SKF_ECCSignData") {
        let container = try SKFHandles.container(handle)
        guard let signature else { throw SKFFailure(SAR_INVALIDPARAMERR, "pSignature is NULL") }
        guard length == UInt32(SM3.byteCount) else {
            throw SKFFailure(SAR_INDATALENERR, "pbData must be the 32-byte SM3 digest SM3(Z_A || TBS_Sign), got \(length) bytes")
        }
        let digest = try bytesArgument(UnsafePointer(data), length, "pbData")
        guard let der = container.preparedSignatures.withLock({ $0.removeValue(forKey: digest) }) else {
            throw SKFFailure(SAR_NOTSUPPORTYETERR,
                             "the token signs only stamps: this digest is not SM3(Z_A || TBS_Sign) of a TBS_Sign SKF_SealKit_PrepareStamp returned for this container (or its signature was already handed out)")
        }
        let blob = try ECCBlob.signature(der)
        blob.withUnsafeBytes { source in
            guard let base = source.baseAddress else { return }
            UnsafeMutableRawPointer(signature).copyMemory(from: base, byteCount: min(source.count, MemoryLayout<ECCSIGNATUREBLOB>.size))
        }
    }
}

/// GM/T 0016's ECC blobs: 64-byte coordinate fields holding 32-byte values right-aligned.
enum ECCBlob {
    /// ECCPUBLICKEYBLOB { BitLen 256, X, Y } from a 65-byte point `04 ‖ x ‖ y`.
    static func publicKey(_ point: [UInt8]) throws(SKFFailure) -> [UInt8] {
        guard point.count == 65, point.first == 0x04 else { throw SKFFailure(SAR_FAIL, "the seal key is not an uncompressed point") }
        let padding = [UInt8](repeating: 0, count: 32)
        return withUnsafeBytes(of: UInt32(256)) { Array($0) } + padding + point[1..<33] + padding + point[33..<65]
    }

    /// ECCSIGNATUREBLOB { r, s } from a DER `SEQUENCE { r, s }`.
    static func signature(_ der: [UInt8]) throws -> [UInt8] {
        let raw = try SM2Signature.rawFromDER(der)
        let padding = [UInt8](repeating: 0, count: 32)
        return padding + raw[0..<32] + padding + raw[32..<64]
    }
}
