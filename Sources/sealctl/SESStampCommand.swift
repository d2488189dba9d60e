import ArgumentParser
import Crypto
import Foundation
import SealESeal
import SealGMCrypto
import SealHostDriver
import SealProtocol

extension SES {
    /// `sealctl ses stamp`: STAMP-SES (SPEC §8.17) into a GB/T 38540 v4 SES_Signature file.
    struct Stamp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stamp a document with the token's SM2 seal into a GB/T 38540 v4 SES_Signature (STAMP-SES).",
            discussion: """
                The token composes TBS_Sign itself from its installed SES_Seal, the stamp time, SM3 of the \
                document as dataHash, --property-info, and its own receipt (counter, serial, expiration code, \
                metadata digest, native signature) as the one extension, and signs it with SM2. sealctl \
                recomposes the same TBS_Sign, checks the signature, takes the signer certificate from the \
                seal's certificate list and writes the DER SES_Signature. The counter advances as for stamp.
                """)

        @OptionGroup var target: TargetOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var pinOptions: PINOptions
        @Option(help: "The signed data (in OFD, the Signature.xml); SM3 of it is the dataHash.") var document: String
        @Option(help: "Where to write the SES_Signature (DER).") var out: String
        @Option(help: "TBS_Sign.propertyInfo (ASCII; in OFD, the path of Signature.xml).") var propertyInfo: String
        @Option(help: "Stamping time: seconds since 1970 or ISO 8601 (default: now).") var time: String?

        func validate() throws {
            if pinOptions.pin != nil && pinOptions.pinStdin { throw ValidationError("give --pin or --pin-stdin, not both") }
            if let time, parseTime(time) == nil { throw ValidationError("--time must be seconds since 1970 or ISO 8601, got \(time)") }
            guard (1...255).contains(propertyInfo.utf8.count), propertyInfo.allSatisfy(\.isASCII) else {
                throw ValidationError("--property-info must be 1 to 255 ASCII characters")
            }
        }

        func run() async throws {
            let documentBytes = try readFile(document, what: "document")
            let seconds = time.flatMap(parseTime) ?? UInt64(Date().timeIntervalSince1970)
            let metadata = StampMetadata(time: seconds)
            let pin = try SecretReader(readsStandardInput: pinOptions.pinStdin).read(.pin, given: pinOptions.pin)
            let (sealBytes, response, sealKey, request) = try await withToken(target, output) { token in
                guard let sealBytes = try await token.sesSeal() else {
                    throw CLIError("the token has no SES seal installed (sealsim personalize --ses-seal)")
                }
                let request = try SESStampRequest(
                    stamp: try StampRequest(documentDigest: SM3.hash(documentBytes), metadata: metadata),
                    propertyInfo: propertyInfo, sealHash: Array(SHA256.hash(data: sealBytes)))
                let response = try await token.stampSES(request, pin: pin)
                let info = try await token.info()
                return (sealBytes, response, info.sealPublicKey, request)
            }
            let seal = try SESeal(derEncoded: sealBytes)
            guard let sealKey, let publicKey = try? SM2PublicKey(x963Representation: sealKey) else {
                throw CLIError("the token's seal key is not an SM2 key")
            }
            // The signer certificate: the one in the seal's list that certifies the token's key.
            guard let signer = seal.property.signerCertificates.first(where: {
                (try? SM2Certificate(derEncoded: $0))?.publicKey.derRepresentation == publicKey.derRepresentation
            }) else {
                throw CLIError("no certificate in the seal's list certifies the token's seal key")
            }
            let receipt = SESStampReceipt(
                counter: response.stamp.counter, serial: response.stamp.serial, expiry: response.stamp.expiry,
                expirationCode: response.stamp.expirationCode, metadataDigest: Array(SHA256.hash(data: request.stamp.metadataEncoding)),
                grantSerial: 0, sealHash: request.sealHash, nativeSignature: response.stamp.signature)
            let tbsSign = try SESSignatureBuilder(
                seal: seal, time: Date(timeIntervalSince1970: TimeInterval(seconds)), dataHash: request.stamp.documentDigest,
                propertyInfo: propertyInfo,
                extensions: [SESExtension(oid: SESStampReceipt.extensionOID, isCritical: false, value: receipt.encoded())]).tbsSignDER()
            guard publicKey.isValidSignature(response.sesSignature, for: tbsSign) else {
                throw CLIError("the token's SES signature does not verify over the recomposed TBS_Sign")
            }
            let signature = try SESSignatureBuilder.assemble(tbsSign: tbsSign, signerCertificate: signer, signature: response.sesSignature)
            do {
                try Data(signature.derRepresentation).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw CLIError("cannot write \(out): \(error.localizedDescription)")
            }
            if output.json {
                print(#"{"counter": \#(response.stamp.counter), "serial": "\#(response.stamp.serial)", "file": "\#(out)"}"#)
            } else {
                print("stamped \(document): counter \(response.stamp.counter), serial \(response.stamp.serial)")
                print("SES_Signature v4 written to \(out) (\(signature.derRepresentation.count) bytes)")
            }
        }
    }
}
