import SealTestSupport
import Foundation
import SealESeal
import SealGMCrypto
import SealOFD
import Testing
import ZIPFoundation

/// The signed OFD files from ofdrw (Apache-2.0) in ../shared/fixtures/gbt38540, read from beside
/// the package; where that folder is absent the suites that need it are skipped.
enum OFDFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures/gbt38540")

    static var isPresent: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("NOTICE.md").path)
    }

    static let signedDocuments = ["ofdrw-converter-1.ofd", "ofdrw-sign-signedFile.ofd", "ofdrw-sign-v4signed.ofd"]

    static func container(_ name: String) throws -> OFDContainer {
        try OFDContainer(archiveBytes: [UInt8](Data(contentsOf: directory.appendingPathComponent(name))))
    }
}

/// Small OFD documents written here with ZIPFoundation: the entries a reader needs for pages.
enum TestDocuments {
    static let namespace = "http://www.ofdspec.org/2016"

    /// An unsigned OFD with `pages` pages (object IDs 10, 11, …) and an image resource.
    static func unsigned(pages: Int = 2) throws -> [UInt8] {
        var entries: [(String, String)] = [
            ("OFD.xml", """
             <?xml version="1.0" encoding="UTF-8"?>
             <ofd:OFD xmlns:ofd="\(namespace)" DocType="OFD" Version="1.1"><ofd:DocBody><ofd:DocInfo><ofd:DocID>sealkit-test</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>
             """),
        ]
        let pageList = (0..<pages).map { "<ofd:Page ID=\"\(10 + $0)\" BaseLoc=\"Pages/Page_\($0)/Content.xml\"/>" }.joined()
        entries.append(("Doc_0/Document.xml", """
            <?xml version="1.0" encoding="UTF-8"?>
            <ofd:Document xmlns:ofd="\(namespace)"><ofd:CommonData><ofd:MaxUnitID>20</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages>\(pageList)</ofd:Pages></ofd:Document>
            """))
        for page in 0..<pages {
            entries.append(("Doc_0/Pages/Page_\(page)/Content.xml", """
                <?xml version="1.0" encoding="UTF-8"?>
                <ofd:Page xmlns:ofd="\(namespace)"><ofd:Content><ofd:Layer ID="\(2 + page)"><ofd:TextObject ID="\(5 + page)" Boundary="20 20 100 10" Font="1" Size="5"><ofd:TextCode X="0" Y="5">第\(page + 1)页 page \(page + 1)</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>
                """))
        }
        return try archive(entries.map { ($0.0, Array($0.1.utf8)) } + [("Doc_0/Res/image.bin", (0..<300).map { UInt8($0 % 251) })])
    }

    /// A ZIP archive of `entries` (deflated), in order.
    static func archive(_ entries: [(String, [UInt8])]) throws -> [UInt8] {
        let archive = try Archive(data: Data(), accessMode: .create)
        for (name, bytes) in entries {
            let data = Data(bytes)
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
        return [UInt8](try #require(archive.data))
    }

    /// The entries of an archive, as (name, bytes), in archive order.
    static func entries(_ bytes: [UInt8]) throws -> [(String, [UInt8])] {
        let archive = try Archive(data: Data(bytes), accessMode: .read)
        return try archive.filter { $0.type == .file }.map { entry in
            var content: [UInt8] = []
            _ = try archive.extract(entry, skipCRC32: false) { content += $0 }
            return (entry.path, content)
        }
    }

    /// The archive with one entry's content replaced (or added).
    static func replacing(_ name: String, with content: [UInt8], in bytes: [UInt8]) throws -> [UInt8] {
        var entries = try entries(bytes)
        if let index = entries.firstIndex(where: { $0.0 == name }) { entries[index].1 = content } else { entries.append((name, content)) }
        return try archive(entries)
    }

    /// A v4 seal for the test PKI's signer, valid from a day before `time` for a year.
    static func seal(_ pki: SM2TestPKI, around time: Date) throws -> SESeal {
        try SESealBuilder(vendorID: "SealKitTest", sealID: "OFD-TEST-1", type: 1, name: "测试专用章",
                          signerCertificates: [pki.signer.derRepresentation], createDate: time.addingTimeInterval(-86_400),
                          validStart: time.addingTimeInterval(-86_400), validEnd: time.addingTimeInterval(300 * 86_400),
                          picture: SESSealPicture(type: "PNG", data: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], width: 40, height: 40))
            .build(makerCertificate: pki.maker, makerKey: pki.makerKey)
    }
}
