import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SealESeal
import SealGMCrypto
import SealProtocol
import SwiftASN1
import ZIPFoundation

/// Where a seal goes and who signs: the input of ``OFDSigner/sign(_:request:)``.
public struct OFDSigningRequest: Sendable {
    /// The page, counted from 1 in document order (written as the page's object ID, `PageRef`).
    public var page: Int
    /// The left edge of the seal on the page, in millimetres from the page's left edge.
    public var x: Double
    /// The top edge of the seal, in millimetres from the page's top edge.
    public var y: Double
    /// The seal (`SESeal`) to stamp; its picture's size is the stamp's size.
    public var seal: SESeal
    /// The signer's SM2 certificate, which must be in the seal's certificate list.
    public var certificate: SM2Certificate
    /// The signer's SM2 private key.
    public var key: SM2PrivateKey
    /// The signing time (`timeInfo`, whole seconds).
    public var time: Date

    /// Creates a request.
    public init(page: Int, x: Double, y: Double, seal: SESeal, certificate: SM2Certificate, key: SM2PrivateKey, time: Date = Date()) {
        self.page = page
        self.x = x
        self.y = y
        self.seal = seal
        self.certificate = certificate
        self.key = key
        self.time = time
    }
}

/// Adds a GB/T 38540 seal signature to an OFD container (GB/T 33190 §18), as ofdrw's
/// `OFDSigner` does in its ContinueSign mode, so that a later signature can still be added:
///
/// 1. Refuse when an existing signature protects the signature list (it would break).
/// 2. On the first signature, add `Signatures` to `OFD.xml`'s first `DocBody` (nothing signs
///    `OFD.xml` yet) and create `Signs/Signatures.xml` beside the document root.
/// 3. Append `<Signature ID BaseLoc>` to the list; the new files go to `Signs/Sign_N/`.
/// 4. `Signature.xml` references every file entry except the list and the new signature's own
///    files, each with the base64 SM3 digest of its stored bytes, and places the seal with a
///    `StampAnnot` (page object ID, boundary `x y w h` in millimetres).
/// 5. `SignedValue.dat` is an `SES_Signature` v4 whose dataHash is SM3 of the Signature.xml bytes
///    and whose propertyInfo names that file, signed with SM2 over DER(TBS_Sign).
///
/// Every existing entry other than `OFD.xml` (first signature only) and the list is copied from
/// the input archive byte for byte — local header, compressed data — by ZIPFoundation.
public enum OFDSigner {
    /// The provider name written into `SignedInfo`.
    public static let providerName = "SealKit"

    /// Signs `container` and returns the bytes of the signed archive.
    ///
    /// - Throws: ``OFDError`` `.invalidRequest` for a page that does not exist, a key that does not
    ///   belong to the certificate, a signer not in the seal's list or a seal not valid at the time;
    ///   `.locked` when an existing signature protects the list; `.missingEntry`/`.malformedXML`
    ///   for a container without what a signature needs; `.notAContainer` when the archive
    ///   cannot be rewritten. `GMCryptoError` when OpenSSL cannot sign.
    public static func sign(_ container: OFDContainer, request: OFDSigningRequest) throws -> [UInt8] {
        try xmlLock.withLock { _ in try signHoldingXMLLock(container, request: request) }
    }

    private static func signHoldingXMLLock(_ container: OFDContainer, request: OFDSigningRequest) throws -> [UInt8] {
        let time = Date(timeIntervalSince1970: request.time.timeIntervalSince1970.rounded(.down))
        try checkSigner(request, at: time)
        let body = try OFDDocBody(container)
        let pages = try pageObjectIDs(container, documentRoot: body.documentRoot)
        guard request.page >= 1, request.page <= pages.count else {
            throw OFDError(code: .invalidRequest, reason: "page \(request.page) does not exist: the document has \(pages.count)")
        }

        // The list, new or extended, and OFD.xml when it must name a new list.
        var replaced: [String: [UInt8]] = [:]
        let listEntry: String
        var highestID = 0
        let listRoot: XMLElement
        var listDocument: XMLDocument?
        if let existing = body.signatureList {
            listEntry = existing
            let listBytes = try container.require(existing, for: "the signature list")
            let list = try OFDSignatureList(listBytes, entry: existing)
            highestID = ([list.maxSignID].compactMap { $0 } + list.signatures.map(\.id)).map(numericPart).max() ?? 0
            for signature in list.signatures {
                guard let entry = signature.descriptionEntry, let bytes = container[entry] else { continue }
                let description = try OFDSignatureDescription(bytes, entry: entry)
                let protected = description.references.compactMap { OFDPath.resolve($0.fileRef, from: entry) }
                if protected.contains(existing) {
                    throw OFDError(code: .locked, reason: "signature \(signature.id) protects /\(existing): another signature would break it")
                }
                highestID = max(highestID, description.stampAnnotations.map { numericPart($0.id) }.max() ?? 0)
            }
            do {
                let document = try XMLDocument(data: Data(listBytes), options: [])
                guard let root = document.rootElement() else { throw OFDError(code: .malformedXML, reason: "/\(existing) has no root") }
                listDocument = document
                listRoot = root
            } catch let error as OFDError { throw error } catch {
                throw OFDError(code: .malformedXML, reason: "/\(existing): \(error)")
            }
        } else {
            let signsDirectory = OFDPath.directory(of: body.documentRoot)
            listEntry = (signsDirectory.isEmpty ? "" : signsDirectory + "/") + "Signs/Signatures.xml"
            guard container[listEntry] == nil else {
                throw OFDError(code: .invalidRequest, reason: "/\(listEntry) exists but OFD.xml does not name it")
            }
            replaced["OFD.xml"] = try ofdXMLNamingList(container, listEntry: listEntry)
            listRoot = OFDXML.root("Signatures")
        }

        let signsDirectory = OFDPath.directory(of: listEntry)
        let prefix = signsDirectory.isEmpty ? "Sign_" : signsDirectory + "/Sign_"
        let taken = container.entryNames.compactMap { name -> Int? in
            guard name.hasPrefix(prefix) else { return nil }
            let rest = name.dropFirst(prefix.count)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            return Int(rest[..<slash])
        }
        let signDirectory = prefix + String((taken.max() ?? -1) + 1)
        let descriptionEntry = signDirectory + "/Signature.xml"
        let valueEntry = signDirectory + "/SignedValue.dat"
        let annotationID = String(highestID + 1)
        let signatureID = String(highestID + 2)

        // The list: MaxSignId first, then the new entry after the existing ones.
        let listPrefix = listRoot.prefix ?? "ofd"
        let maxSignID = OFDXML.children(listRoot, "MaxSignId").first
        if let maxSignID {
            maxSignID.stringValue = signatureID
        } else {
            let element = OFDXML.element("MaxSignId", prefix: listPrefix, text: signatureID)
            // FoundationXML traps on insertChild(at: 0) into an element without children.
            if listRoot.childCount == 0 { listRoot.addChild(element) } else { listRoot.insertChild(element, at: 0) }
        }
        listRoot.addChild(OFDXML.element("Signature", prefix: listPrefix,
                                         attributes: ["ID": signatureID, "BaseLoc": "/" + descriptionEntry]))
        replaced[listEntry] = listDocument.map(OFDXML.bytes) ?? OFDXML.bytes(listRoot)

        // References: every file as it will be stored, but the list and the new signature's files.
        var references: [(String, [UInt8])] = []
        for name in container.entryNames where name != listEntry {
            guard let bytes = replaced[name] ?? container[name] else { continue }
            references.append((name, bytes))
        }

        let description = OFDXML.root("Signature")
        let info = OFDXML.element("SignedInfo")
        info.addChild(OFDXML.element("Provider", attributes: ["ProviderName": providerName, "Version": SealKitVersion.current, "Company": providerName]))
        info.addChild(OFDXML.element("SignatureMethod", text: SESVerifier.sm2WithSM3))
        info.addChild(OFDXML.element("SignatureDateTime", text: dateTimeText(time)))
        let referenceList = OFDXML.element("References", attributes: ["CheckMethod": OFDCheckMethod.sm3OID])
        for (name, bytes) in references {
            let reference = OFDXML.element("Reference", attributes: ["FileRef": "/" + name])
            reference.addChild(OFDXML.element("CheckValue", text: Data(SM3.hash(bytes)).base64EncodedString()))
            referenceList.addChild(reference)
        }
        info.addChild(referenceList)
        let boundary = [request.x, request.y, Double(request.seal.picture.width), Double(request.seal.picture.height)]
            .map { String(format: "%.2f", $0) }.joined(separator: " ")
        info.addChild(OFDXML.element("StampAnnot", attributes: ["ID": annotationID, "PageRef": pages[request.page - 1], "Boundary": boundary]))
        description.addChild(info)
        description.addChild(OFDXML.element("SignedValue", text: "/" + valueEntry))
        let descriptionBytes = OFDXML.bytes(description)

        let value = try sesSignature(seal: request.seal, time: time, dataHash: SM3.hash(descriptionBytes),
                                     propertyInfo: "/" + descriptionEntry, certificate: request.certificate, key: request.key)
        replaced[descriptionEntry] = descriptionBytes
        replaced[valueEntry] = value
        return try rewrite(container, replacing: replaced, order: [descriptionEntry, valueEntry], time: time)
    }

    private static func checkSigner(_ request: OFDSigningRequest, at time: Date) throws {
        guard try request.key.publicKey.derRepresentation == request.certificate.publicKey.derRepresentation else {
            throw OFDError(code: .invalidRequest, reason: "the key does not belong to the signer certificate")
        }
        let property = request.seal.property
        let listed = property.certificateListType == 2
            ? property.signerCertificateDigests.contains { $0.value == SM3.hash(request.certificate.derRepresentation) }
            : property.signerCertificates.contains(request.certificate.derRepresentation)
        guard listed else {
            throw OFDError(code: .invalidRequest, reason: "the signer certificate is not in the seal's certificate list")
        }
        guard property.validStart <= time, time <= property.validEnd else {
            throw OFDError(code: .invalidRequest, reason: "the seal is not valid at the signing time")
        }
        guard request.certificate.isValid(at: time) else {
            throw OFDError(code: .invalidRequest, reason: "the signer certificate is not valid at the signing time")
        }
    }

    /// OFD.xml with `Signatures` added to its first DocBody, after DocRoot (and Versions), as the
    /// schema orders it.
    private static func ofdXMLNamingList(_ container: OFDContainer, listEntry: String) throws -> [UInt8] {
        let bytes = try container.require("OFD.xml", for: "the entry file")
        let document: XMLDocument
        do { document = try XMLDocument(data: Data(bytes), options: []) } catch {
            throw OFDError(code: .malformedXML, reason: "/OFD.xml: \(error)")
        }
        guard let root = document.rootElement(), let body = OFDXML.child(root, "DocBody") else {
            throw OFDError(code: .malformedXML, reason: "/OFD.xml has no DocBody")
        }
        let entry = OFDXML.element("Signatures", prefix: body.prefix ?? "", text: "/" + listEntry)
        let children = (body.children ?? []).compactMap { $0 as? XMLElement }
        if let anchor = children.last(where: { OFDXML.isOFD($0, "DocRoot") || OFDXML.isOFD($0, "Versions") }), anchor.index + 1 < body.childCount {
            body.insertChild(entry, at: anchor.index + 1)
        } else {
            body.addChild(entry)
        }
        return OFDXML.bytes(document)
    }

    /// A GB/T 38540 v4 `SES_Signature`: TBS_Sign { 4, SESeal, timeInfo, dataHash, propertyInfo },
    /// the signer certificate, SM2-with-SM3, and the SM2 signature (DER) over DER(TBS_Sign).
    static func sesSignature(seal: SESeal, time: Date, dataHash: [UInt8], propertyInfo: String,
                             certificate: SM2Certificate, key: SM2PrivateKey) throws -> [UInt8] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: time)
        let timeInfo = try GeneralizedTime(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1,
                                           hours: parts.hour ?? 0, minutes: parts.minute ?? 0, seconds: parts.second ?? 0,
                                           fractionalSeconds: 0)
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { body in
            try body.serialize(4)
            body.serializeRawBytes(seal.derRepresentation)
            try body.serialize(timeInfo)
            try body.serialize(ASN1BitString(bytes: dataHash[...]))
            body.appendPrimitiveNode(identifier: .ia5String) { $0 += Array(propertyInfo.utf8) }
        }
        let signature = try key.signature(for: tbs.serializedBytes)
        var outer = DER.Serializer()
        try outer.appendConstructedNode(identifier: .sequence) { body in
            body.serializeRawBytes(tbs.serializedBytes)
            body.appendPrimitiveNode(identifier: .octetString) { $0 += certificate.derRepresentation }
            try body.serialize(ASN1ObjectIdentifier(dotRepresentation: SESVerifier.sm2WithSM3))
            try body.serialize(ASN1BitString(bytes: signature[...]))
        }
        // Parsed back: what is written is exactly what a verifier reads.
        _ = try SESSignature(derEncoded: outer.serializedBytes)
        return outer.serializedBytes
    }

    /// The input archive with `replaced` entries removed and written anew (deflated); every other
    /// entry keeps its local header and compressed bytes (ZIPFoundation's `remove` copies them).
    private static func rewrite(_ container: OFDContainer, replacing replaced: [String: [UInt8]], order: [String], time: Date) throws -> [UInt8] {
        do {
            let archive = try Archive(data: Data(container.archiveBytes), accessMode: .update)
            // Looked up afresh for each removal: a removal moves the entries after it.
            let removed = container.entryNames.filter { replaced[$0] != nil }
            for name in removed {
                guard let entry = archive.first(where: { $0.type == .file && OFDPath.entryName($0.path) == name }) else { continue }
                try archive.remove(entry)
            }
            let added = removed + replaced.keys.filter { !removed.contains($0) && !order.contains($0) }.sorted() + order
            for name in added {
                guard let bytes = replaced[name] else { continue }
                let data = Data(bytes)
                try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), modificationDate: time,
                                     compressionMethod: .deflate) { position, size in
                    data.subdata(in: Int(position)..<(Int(position) + size))
                }
            }
            guard let bytes = archive.data else { throw OFDError(code: .notAContainer, reason: "the rewritten archive has no data") }
            return [UInt8](bytes)
        } catch let error as OFDError {
            throw error
        } catch {
            throw OFDError(code: .notAContainer, reason: "the archive cannot be rewritten: \(error)")
        }
    }

    private static func dateTimeText(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss'Z'"
        return formatter.string(from: date)
    }
}

/// The number in an ID (`s006` → 6), as ofdrw reads IDs when it looks for the largest.
func numericPart(_ id: String) -> Int {
    Int(id.filter(\.isNumber).suffix(9)) ?? 0
}
