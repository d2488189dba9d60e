import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Synchronization

/// Held for the whole of every public operation that touches XML. FoundationXML on Linux does not
/// document that its `XMLDocument` (over libxml2) may be used from several threads at once, so
/// SealOFD does its XML work one operation at a time; the parsing is small next to the SM2 work.
let xmlLock = Mutex<Void>(())

/// The OFD namespaces: the standard's, and the one without the year that some producers write
/// (ofdrw normalises it). Elements are matched by namespace URI and local name, never by prefix.
enum OFDNamespace {
    static let standard = "http://www.ofdspec.org/2016"
    static let accepted: Set<String> = [standard, "http://www.ofdspec.org"]
}

/// Reading OFD XML through FoundationXML's `XMLDocument` (libxml2): the DOM keeps namespaces, and
/// the toolkit ships it on Linux, so no package is added for it.
enum OFDXML {
    static func document(_ bytes: [UInt8], entry: String) throws -> XMLElement {
        let document: XMLDocument
        do {
            document = try XMLDocument(data: Data(bytes), options: [])
        } catch {
            throw OFDError(code: .malformedXML, reason: "/\(entry) does not parse as XML: \(error)")
        }
        guard let root = document.rootElement() else {
            throw OFDError(code: .malformedXML, reason: "/\(entry) has no root element")
        }
        return root
    }

    static func isOFD(_ element: XMLElement, _ localName: String) -> Bool {
        element.localName == localName && OFDNamespace.accepted.contains(element.uri ?? "")
    }

    /// The child elements named `localName` in the OFD namespace, in document order.
    static func children(_ element: XMLElement, _ localName: String) -> [XMLElement] {
        (element.children ?? []).compactMap { $0 as? XMLElement }.filter { isOFD($0, localName) }
    }

    static func child(_ element: XMLElement, _ localName: String) -> XMLElement? {
        children(element, localName).first
    }

    /// The trimmed text of a child element.
    static func text(_ element: XMLElement, _ localName: String) -> String? {
        child(element, localName)?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An attribute, or (as some producers write it) a child element of that name.
    static func attributeOrChild(_ element: XMLElement, _ name: String) -> String? {
        element.attribute(forName: name)?.stringValue ?? text(element, name)
    }

    // MARK: Writing

    /// A new element in the OFD namespace with the prefix `ofd` (declared on the root by ``root(_:)``).
    static func element(_ localName: String, prefix: String = "ofd", text: String? = nil,
                        attributes: KeyValuePairs<String, String> = [:]) -> XMLElement {
        let element = XMLElement(name: prefix.isEmpty ? localName : "\(prefix):\(localName)")
        if let text { element.stringValue = text }
        for (name, value) in attributes {
            if let attribute = XMLNode.attribute(withName: name, stringValue: value) as? XMLNode {
                element.addAttribute(attribute)
            }
        }
        return element
    }

    static func root(_ localName: String) -> XMLElement {
        let root = element(localName)
        if let namespace = XMLNode.namespace(withName: "ofd", stringValue: OFDNamespace.standard) as? XMLNode {
            root.addNamespace(namespace)
        }
        return root
    }

    /// UTF-8 bytes of a new element tree with an XML declaration, as OFD producers write them.
    ///
    /// The element is serialised on its own: wrapping a tree built here in
    /// `XMLDocument(rootElement:)` made libxml2 read freed memory once the document was released
    /// before the elements (FoundationXML on Linux).
    static func bytes(_ root: XMLElement) -> [UInt8] {
        Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + root.xmlString(options: [.nodeCompactEmptyElement])).utf8)
    }

    static func bytes(_ document: XMLDocument) -> [UInt8] {
        [UInt8](document.xmlData(options: [.nodeCompactEmptyElement]))
    }
}

/// The document body's entry points read from `OFD.xml` (GB/T 33190 §7.4; the first `DocBody`).
struct OFDDocBody {
    /// The entry name of the document root (`Document.xml`).
    let documentRoot: String
    /// The entry name of the signature list, when the document has one.
    let signatureList: String?

    init(_ container: OFDContainer) throws {
        let root = try OFDXML.document(try container.require("OFD.xml", for: "the entry file"), entry: "OFD.xml")
        guard OFDXML.isOFD(root, "OFD"), let body = OFDXML.child(root, "DocBody") else {
            throw OFDError(code: .malformedXML, reason: "/OFD.xml has no ofd:OFD/ofd:DocBody")
        }
        guard let docRoot = OFDXML.text(body, "DocRoot"), let resolved = OFDPath.resolve(docRoot, from: "OFD.xml") else {
            throw OFDError(code: .malformedXML, reason: "/OFD.xml has no DocRoot in its first DocBody")
        }
        documentRoot = resolved
        if let list = OFDXML.text(body, "Signatures") {
            guard let resolvedList = OFDPath.resolve(list, from: "OFD.xml") else {
                throw OFDError(code: .malformedXML, reason: "/OFD.xml: Signatures \(list) leaves the package")
            }
            signatureList = resolvedList
        } else {
            signatureList = nil
        }
    }
}

/// One `Signature` entry of the signature list (GB/T 33190 Table 66).
struct OFDSignatureEntry {
    let id: String
    /// `Seal` (the default) or `Sign`.
    let type: String
    let baseLocation: String
    /// The entry name of its Signature.xml, nil when BaseLoc leaves the package.
    let descriptionEntry: String?
}

/// `Signatures.xml`: the largest ID issued and the signatures.
struct OFDSignatureList {
    let maxSignID: String?
    let signatures: [OFDSignatureEntry]

    init(_ bytes: [UInt8], entry: String) throws {
        let root = try OFDXML.document(bytes, entry: entry)
        guard OFDXML.isOFD(root, "Signatures") else {
            throw OFDError(code: .malformedXML, reason: "/\(entry) is not an ofd:Signatures list")
        }
        maxSignID = OFDXML.text(root, "MaxSignId")
        signatures = try OFDXML.children(root, "Signature").map { element in
            guard let id = element.attribute(forName: "ID")?.stringValue,
                  let base = element.attribute(forName: "BaseLoc")?.stringValue else {
                throw OFDError(code: .malformedXML, reason: "/\(entry): a Signature lacks ID or BaseLoc")
            }
            return OFDSignatureEntry(id: id, type: element.attribute(forName: "Type")?.stringValue ?? "Seal",
                                     baseLocation: base, descriptionEntry: OFDPath.resolve(base, from: entry))
        }
    }
}

/// One `Reference` of a signature description: the file and its digest (GB/T 33190 Table 68).
struct OFDReference {
    let fileRef: String
    let checkValue: String
}

/// One `StampAnnot`: where the seal appears (GB/T 33190 Table 69).
struct OFDStampAnnotation {
    let id: String
    let pageRef: String
    let boundary: String
}

/// `Signature.xml`, the signature description (GB/T 33190 Table 67), read by element name in any
/// order (ofdrw writes SignedValue first).
struct OFDSignatureDescription {
    let providerName: String?
    let signatureMethod: String?
    let signatureDateTime: String?
    let checkMethod: String?
    let references: [OFDReference]
    let stampAnnotations: [OFDStampAnnotation]
    let sealLocation: String?
    let signedValueLocation: String

    init(_ bytes: [UInt8], entry: String) throws {
        let root = try OFDXML.document(bytes, entry: entry)
        guard OFDXML.isOFD(root, "Signature"), let info = OFDXML.child(root, "SignedInfo") else {
            throw OFDError(code: .malformedXML, reason: "/\(entry) is not an ofd:Signature with SignedInfo")
        }
        guard let signedValue = OFDXML.text(root, "SignedValue"), !signedValue.isEmpty else {
            throw OFDError(code: .malformedXML, reason: "/\(entry) has no SignedValue")
        }
        signedValueLocation = signedValue
        providerName = OFDXML.child(info, "Provider").flatMap { OFDXML.attributeOrChild($0, "ProviderName") }
        signatureMethod = OFDXML.text(info, "SignatureMethod")
        signatureDateTime = OFDXML.text(info, "SignatureDateTime")
        let references = OFDXML.child(info, "References")
        checkMethod = references?.attribute(forName: "CheckMethod")?.stringValue
        self.references = try (references.map { OFDXML.children($0, "Reference") } ?? []).map { element in
            guard let fileRef = element.attribute(forName: "FileRef")?.stringValue else {
                throw OFDError(code: .malformedXML, reason: "/\(entry): a Reference has no FileRef")
            }
            return OFDReference(fileRef: fileRef, checkValue: OFDXML.text(element, "CheckValue") ?? "")
        }
        stampAnnotations = OFDXML.children(info, "StampAnnot").map { element in
            OFDStampAnnotation(id: element.attribute(forName: "ID")?.stringValue ?? "",
                               pageRef: element.attribute(forName: "PageRef")?.stringValue ?? "",
                               boundary: element.attribute(forName: "Boundary")?.stringValue ?? "")
        }
        sealLocation = OFDXML.child(info, "Seal").flatMap { OFDXML.text($0, "BaseLoc") }
    }
}

/// The page object IDs of a document (`Document.xml` › Pages › Page@ID), in page order.
func pageObjectIDs(_ container: OFDContainer, documentRoot: String) throws -> [String] {
    let root = try OFDXML.document(try container.require(documentRoot, for: "the document root"), entry: documentRoot)
    guard let pages = OFDXML.child(root, "Pages") else { return [] }
    return OFDXML.children(pages, "Page").compactMap { $0.attribute(forName: "ID")?.stringValue }
}
