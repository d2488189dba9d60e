// skf-test-seal MAKER_CERT.pem MAKER_KEY.pem SIGNER_CERT.pem OUT.esl
//
// Writes a GB/T 38540 v4 SES_Seal (DER) listing SIGNER_CERT, made by the maker, valid from an
// hour ago for a day, with a 2 KB stand-in PNG picture: the seal scripts/skf-test.sh installs on
// an SM2 test token (`sealsim personalize --ses-seal`). TEST ONLY: the certificates come from a
// throw-away openssl PKI. Exit 64 for usage errors, 1 when the seal cannot be made.
import Foundation
import SealESeal
import SealGMCrypto

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: skf-test-seal MAKER_CERT.pem MAKER_KEY.pem SIGNER_CERT.pem OUT.esl\n".utf8))
    exit(64)
}
let paths = Array(arguments)

do {
    func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
    let now = Date()
    let seal = try SESealBuilder(
        vendorID: "SealKit", sealID: "SKF-TEST-0001", type: 1, name: "SKF test seal",
        signerCertificates: [try SM2Certificate(pemRepresentation: text(paths[2])).derRepresentation], createDate: now,
        validStart: now.addingTimeInterval(-3600), validEnd: now.addingTimeInterval(86_400),
        picture: SESSealPicture(type: "PNG", data: [UInt8](repeating: 0x42, count: 2048), width: 40, height: 40)
    ).build(makerCertificate: try SM2Certificate(pemRepresentation: text(paths[0])),
            makerKey: try SM2PrivateKey(pemRepresentation: text(paths[1])))
    try Data(seal.derRepresentation).write(to: URL(fileURLWithPath: paths[3]))
} catch {
    FileHandle.standardError.write(Data("skf-test-seal: \(error)\n".utf8))
    exit(1)
}
