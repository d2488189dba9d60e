import CCairo
import CQREncode
import CZBar
import Foundation

/// A QR code (ISO/IEC 18004) encoded by libqrencode: the smallest version that holds the text at the
/// error-correction level, the mode segments chosen by libqrencode (8-bit, alphanumeric, numeric).
public struct QRCode: Sendable, Hashable {
    /// The four error-correction levels: about 7, 15, 25 and 30 % of the code words recoverable.
    public enum ErrorCorrection: Sendable, Hashable {
        /// Level L, about 7 %.
        case low
        /// Level M, about 15 %: the imprint's level.
        case medium
        /// Level Q, about 25 %.
        case quartile
        /// Level H, about 30 %.
        case high

        var qrencode: QRecLevel {
            switch self {
            case .low: QR_ECLEVEL_L
            case .medium: QR_ECLEVEL_M
            case .quartile: QR_ECLEVEL_Q
            case .high: QR_ECLEVEL_H
            }
        }
    }

    /// The text encoded.
    public let text: String
    /// The symbol version, 1…40.
    public let version: Int
    /// Modules per side (17 + 4 × version).
    public let width: Int
    /// The error-correction level.
    public let errorCorrection: ErrorCorrection
    /// Dark modules, row after row.
    private let dark: [Bool]

    /// Encodes `text` (UTF-8; case kept).
    /// - Throws: ``ImprintError`` `.payloadTooLarge` when no version holds it at this level.
    public init(text: String, errorCorrection: ErrorCorrection = .medium) throws(ImprintError) {
        guard !text.isEmpty, !text.utf8.contains(0) else {
            throw ImprintError(code: .malformedPayload, reason: "a QR code needs non-empty text without NUL")
        }
        guard let code = QRcode_encodeString(text, 0, errorCorrection.qrencode, QR_MODE_8, 1) else {
            throw ImprintError(code: .payloadTooLarge, reason: "\(text.utf8.count) bytes do not fit a QR code at this error-correction level")
        }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        self.text = text
        self.version = Int(code.pointee.version)
        self.width = width
        self.errorCorrection = errorCorrection
        // libqrencode: one byte per module, bit 0 set for a dark module.
        dark = (0..<(width * width)).map { code.pointee.data[$0] & 1 == 1 }
    }

    /// Whether the module at column `x`, row `y` is dark (false outside the symbol).
    public func isDark(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < width, y < width else { return false }
        return dark[y * width + x]
    }

    /// The QR code alone as a PNG or SVG: `moduleSize` pixels (or points) per module and the
    /// standard quiet zone of four modules on each side, drawn with cairo.
    public func image(_ format: ImageFormat, moduleSize: Int = 8) throws(ImprintError) -> [UInt8] {
        let side = (width + 8) * moduleSize
        let canvas = try Canvas(format: format, width: side, height: side)
        draw(on: canvas, x: 0, y: 0, moduleSize: Double(moduleSize))
        return try canvas.finish()
    }

    /// Draws the modules with their quiet zone, its top left corner at (`x`, `y`).
    func draw(on canvas: Canvas, x: Double, y: Double, moduleSize: Double) {
        let context = canvas.context
        let side = Double(width + 8) * moduleSize
        cairo_set_source_rgb(context, 1, 1, 1)
        cairo_rectangle(context, x, y, side, side)
        cairo_fill(context)
        cairo_set_source_rgb(context, 0, 0, 0)
        // Pixel-aligned squares without antialiasing: crisp edges for scanners, no seams between modules.
        cairo_save(context)
        cairo_set_antialias(context, CAIRO_ANTIALIAS_NONE)
        for row in 0..<width {
            var column = 0
            while column < width {
                guard isDark(x: column, y: row) else { column += 1; continue }
                let start = column
                while column < width && isDark(x: column, y: row) { column += 1 }
                cairo_rectangle(context, x + Double(start + 4) * moduleSize, y + Double(row + 4) * moduleSize,
                                Double(column - start) * moduleSize, moduleSize)
            }
        }
        cairo_fill(context)
        cairo_restore(context)
    }

    /// The texts of every QR code libzbar finds in a PNG image, in the order zbar reports them.
    /// - Throws: ``ImprintError`` `.unreadableImage`, or `.noQRCode` when zbar finds none.
    public static func decode(png: [UInt8]) throws(ImprintError) -> [String] {
        let image = try GrayImage(png: png)
        guard let scanner = zbar_image_scanner_create() else { throw ImprintError(code: .unreadableImage, reason: "zbar cannot start") }
        defer { zbar_image_scanner_destroy(scanner) }
        // QR codes only, and their bytes as they are (no character-set guessing).
        zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0)
        zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1)
        zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1)
        guard let zimage = zbar_image_create() else { throw ImprintError(code: .unreadableImage, reason: "zbar cannot make an image") }
        defer { zbar_image_destroy(zimage) }
        zbar_image_set_format(zimage, sealkit_zbar_format_y800)
        zbar_image_set_size(zimage, UInt32(image.width), UInt32(image.height))
        var texts: [String] = []
        image.pixels.withUnsafeBytes { pixels in
            // No cleanup handler: the pixels stay ours and outlive the scan.
            zbar_image_set_data(zimage, pixels.baseAddress, UInt(pixels.count), nil)
            guard zbar_scan_image(scanner, zimage) > 0 else { return }
            var symbol = zbar_image_first_symbol(zimage)
            while let current = symbol {
                if zbar_symbol_get_type(current) == ZBAR_QRCODE, let data = zbar_symbol_get_data(current) {
                    let length = Int(zbar_symbol_get_data_length(current))
                    texts.append(String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self))
                }
                symbol = zbar_symbol_next(current)
            }
            zbar_image_set_data(zimage, nil, 0, nil)
        }
        guard !texts.isEmpty else { throw ImprintError(code: .noQRCode, reason: "zbar finds no QR code in the image") }
        return texts
    }
}
