import Crypto
import Foundation
import SealTestSupport
import SealHostDriver
import SealImprint
import SealLedger
import Testing

@Suite("QR codes and imprints drawn with cairo, read back by zbar and rsvg-convert")
struct RenderingTests {
    @Test func zbarimgReadsTheQRCodePNGAndTheRasterizedSVG() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = try payload(for: try exampleRecord(), index: 42).text
        let qr = try QRCode(text: text)
        let png = directory.appendingPathComponent("qr.png"), svg = directory.appendingPathComponent("qr.svg")
        try Data(try qr.image(.png, moduleSize: 4)).write(to: png)
        try Data(try qr.image(.svg, moduleSize: 4)).write(to: svg)
        // In process through libzbar, and by the zbarimg tool.
        #expect(try QRCode.decode(png: Array(Data(contentsOf: png))) == [text])
        let fromPNG = try await zbarimg(png)
        #expect(fromPNG.status == 0 && fromPNG.texts == [text])
        // The SVG, rasterized by librsvg (an independent renderer), decodes to the same payload.
        let rasterized = directory.appendingPathComponent("qr-from-svg.png")
        let rsvg = try await runProgram("/usr/bin/rsvg-convert", ["--background-color", "white", "-o", rasterized.path, svg.path])
        #expect(rsvg.status == 0, "\(rsvg.stderr)")
        let fromSVG = try await zbarimg(rasterized)
        #expect(fromSVG.status == 0 && fromSVG.texts == [text])
        // The module count: the PNG is exactly (width + 8 quiet modules) × 4 pixels wide.
        let svgText = try String(contentsOf: svg, encoding: .utf8)
        #expect(svgText.contains("width=\"\((qr.width + 8) * 4)pt\""))
    }

    @Test func zbarFindsNoCodeWhereThereIsNone() async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let seal = Array(try Data(contentsOf: repositoryRoot.appendingPathComponent("Fixtures/seal-imprint.png")))
        #expect(throws: ImprintError(code: .noQRCode, reason: "")) { try QRCode.decode(png: seal) }
        #expect(throws: ImprintError(code: .unreadableImage, reason: "")) { try QRCode.decode(png: Array("GIF89a".utf8)) }
    }

    @Test(arguments: [ImageFormat.png, .svg])
    func theImprintCarriesAReadableQRCode(format: ImageFormat) async throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = try exampleRecord()
        let payload = try payload(for: record, index: 7)
        let content = ImprintContent(organizationName: "上海市某某科技有限公司", sealName: "合同专用章", serial: record.serial,
                                     expirationCode: record.expirationCode, expiry: record.expiry, payload: payload)
        let imprint = try ImprintRenderer.render(content, format: format)
        #expect(imprint.qrCode.version == 8)
        // Both names were set in a font that has every glyph.
        #expect(imprint.fonts.count == 2 && imprint.fonts.allSatisfy { $0.missingCharacters.isEmpty })
        var file = directory.appendingPathComponent("imprint.\(format.rawValue)")
        try Data(imprint.bytes).write(to: file)
        if format == .svg {
            let rasterized = directory.appendingPathComponent("imprint-from-svg.png")
            let rsvg = try await runProgram("/usr/bin/rsvg-convert", ["--background-color", "white", "-o", rasterized.path, file.path])
            #expect(rsvg.status == 0, "\(rsvg.stderr)")
            file = rasterized
            // A low-resolution raster of the vector imprint (about 2 pixels per module) still reads,
            // in process through libzbar.
            let small = directory.appendingPathComponent("imprint-small.png")
            let smallRun = try await runProgram("/usr/bin/rsvg-convert", ["--background-color", "white", "--zoom", "0.3", "-o", small.path, file.path.replacingOccurrences(of: "-from-svg.png", with: ".svg")])
            #expect(smallRun.status == 0)
            #expect(try QRCode.decode(png: Array(Data(contentsOf: small))) == [payload.text])
        } else {
            #expect(imprint.bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        }
        let decoded = try await zbarimg(file)
        #expect(decoded.status == 0 && decoded.texts == [payload.text])
    }

    @Test func aChineseNameResolvesToAFontWithItsGlyphs() throws {
        let name = "北京市朝阳区人民政府"
        let font = try ResolvedFont.resolve(for: name, family: "serif", bold: true)
        #expect(font.missingCharacters.isEmpty, "\(font.family) at \(font.file) lacks \(font.missingCharacters)")
        // cairo's scaled font maps every character to a real glyph, not to glyph 0 (.notdef) …
        let glyphs = try ResolvedFont.glyphIndices(of: name, family: "serif")
        #expect(glyphs.count == name.unicodeScalars.count && !glyphs.contains(0), "\(glyphs)")
        #expect(Set(glyphs).count == Set(name.unicodeScalars).count)
        // … while a code point no font has (plane 16 private use) does map to glyph 0, and is
        // reported missing: the check can fail.
        let unassigned = "\u{10FFFD}"
        #expect(try ResolvedFont.glyphIndices(of: unassigned) == [0])
        #expect(try ResolvedFont.resolve(for: "北京\(unassigned)").missingCharacters == [Character(unassigned)])
        // A Latin name keeps a Latin font; the Chinese one got a CJK font (WenQuanYi or Noto CJK).
        #expect(font.family.contains("WenQuanYi") || font.family.contains("CJK"), "\(font.family)")
    }

    @Test func aSealImageMustBeTheRegisteredOne() throws {
        let seal = Array(try Data(contentsOf: repositoryRoot.appendingPathComponent("Fixtures/seal-imprint.png")))
        let hash = Array(SHA256.hash(data: seal))
        #expect(try ImprintContent.checkedSealImage(seal, registeredHash: hash) == seal)
        #expect(throws: ImprintError(code: .sealImageMismatch, reason: "")) {
            try ImprintContent.checkedSealImage(seal, registeredHash: [UInt8](repeating: 1, count: 32))
        }
        #expect(throws: ImprintError(code: .sealImageMismatch, reason: "")) { try ImprintContent.checkedSealImage(seal, registeredHash: nil) }
        let record = try exampleRecord()
        let content = ImprintContent(organizationName: "x", sealName: "y", serial: record.serial, expirationCode: record.expirationCode,
                                     expiry: record.expiry, payload: try payload(for: record), sealImagePNG: seal)
        let imprint = try ImprintRenderer.render(content, format: .png)
        #expect(try QRCode.decode(png: imprint.bytes) == [try payload(for: record).text])
    }
}
