import CCairo
import Foundation

/// The two outputs the imprint and the QR code are drawn to.
public enum ImageFormat: String, Sendable, Hashable, CaseIterable {
    /// A PNG raster (cairo's image surface).
    case png
    /// An SVG vector image (cairo's SVG surface; text as glyph outlines).
    case svg

    /// The format a file name asks for by its extension (`.png`, `.svg`), or nil.
    public init?(fileName: String) {
        switch URL(fileURLWithPath: fileName).pathExtension.lowercased() {
        case "png": self = .png
        case "svg": self = .svg
        default: return nil
        }
    }
}

/// Bytes cairo writes through a stream callback.
private final class ByteSink {
    var bytes: [UInt8] = []
}

/// Bytes cairo reads through a stream callback.
private final class ByteSource {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private let writeToSink: cairo_write_func_t = { closure, data, length in
    guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
    Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue().bytes += UnsafeBufferPointer(start: data, count: Int(length))
    return CAIRO_STATUS_SUCCESS
}

private let readFromSource: cairo_read_func_t = { closure, data, length in
    guard let closure, let data else { return CAIRO_STATUS_READ_ERROR }
    let source = Unmanaged<ByteSource>.fromOpaque(closure).takeUnretainedValue()
    let count = Int(length)
    guard source.bytes.count - source.offset >= count else { return CAIRO_STATUS_READ_ERROR }
    source.bytes.withUnsafeBufferPointer { buffer in
        if let base = buffer.baseAddress { data.update(from: base + source.offset, count: count) }
    }
    source.offset += count
    return CAIRO_STATUS_SUCCESS
}

/// One cairo surface and its drawing context, writing a PNG or an SVG into memory. Used by one
/// thread from creation to ``finish()``; every cairo object it makes it also destroys.
final class Canvas {
    let format: ImageFormat
    let width: Int, height: Int
    let context: OpaquePointer
    private let surface: OpaquePointer
    private let sink = ByteSink()

    /// A white canvas of `width` × `height` pixels (PNG) or points (SVG).
    init(format: ImageFormat, width: Int, height: Int) throws(ImprintError) {
        self.format = format
        self.width = width
        self.height = height
        let made: OpaquePointer? = switch format {
        case .png: cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height))
        case .svg: cairo_svg_surface_create_for_stream(writeToSink, Unmanaged.passUnretained(sink).toOpaque(), Double(width), Double(height))
        }
        guard let made, cairo_surface_status(made) == CAIRO_STATUS_SUCCESS else {
            if let made { cairo_surface_destroy(made) }
            throw ImprintError(code: .renderingFailed, reason: "cairo cannot make a \(width)×\(height) \(format.rawValue) surface")
        }
        guard let context = cairo_create(made), cairo_status(context) == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(made)
            throw ImprintError(code: .renderingFailed, reason: "cairo cannot make a drawing context")
        }
        surface = made
        self.context = context
        cairo_set_source_rgb(context, 1, 1, 1)
        cairo_paint(context)
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    /// Ends drawing and returns the file's bytes.
    func finish() throws(ImprintError) -> [UInt8] {
        let status = cairo_status(context)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw ImprintError(code: .renderingFailed, reason: "cairo: \(String(cString: cairo_status_to_string(status)))")
        }
        switch format {
        case .png:
            cairo_surface_flush(surface)
            let written = cairo_surface_write_to_png_stream(surface, writeToSink, Unmanaged.passUnretained(sink).toOpaque())
            guard written == CAIRO_STATUS_SUCCESS else {
                throw ImprintError(code: .renderingFailed, reason: "cairo cannot write the PNG: \(String(cString: cairo_status_to_string(written)))")
            }
        case .svg:
            cairo_surface_finish(surface)
            let finished = cairo_surface_status(surface)
            guard finished == CAIRO_STATUS_SUCCESS else {
                throw ImprintError(code: .renderingFailed, reason: "cairo cannot write the SVG: \(String(cString: cairo_status_to_string(finished)))")
            }
        }
        return sink.bytes
    }

    func setColor(_ color: (Double, Double, Double)) { cairo_set_source_rgb(context, color.0, color.1, color.2) }
}

/// A PNG decoded by cairo into 8-bit gray, one byte per pixel, row after row (alpha composed over
/// white), as zbar reads it.
struct GrayImage {
    var width: Int
    var height: Int
    var pixels: [UInt8]

    /// Decodes PNG bytes.
    /// - Throws: ``ImprintError`` `.unreadableImage`.
    init(png: [UInt8]) throws(ImprintError) {
        guard png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw ImprintError(code: .unreadableImage, reason: "not a PNG image (give a PNG: sealctl imprint writes one)")
        }
        let source = ByteSource(png)
        guard let surface = cairo_image_surface_create_from_png_stream(readFromSource, Unmanaged.passUnretained(source).toOpaque()) else {
            throw ImprintError(code: .unreadableImage, reason: "cairo cannot read the PNG")
        }
        defer { cairo_surface_destroy(surface) }
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw ImprintError(code: .unreadableImage, reason: "cannot read the PNG: \(String(cString: cairo_status_to_string(status)))")
        }
        cairo_surface_flush(surface)
        let format = cairo_image_surface_get_format(surface)
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let data = cairo_image_surface_get_data(surface), width > 0, height > 0 else {
            throw ImprintError(code: .unreadableImage, reason: "the PNG has no pixels")
        }
        var gray = [UInt8](repeating: 255, count: width * height)
        switch format {
        case CAIRO_FORMAT_ARGB32, CAIRO_FORMAT_RGB24:
            let hasAlpha = format == CAIRO_FORMAT_ARGB32
            for y in 0..<height {
                let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
                for x in 0..<width {
                    // Native-endian 0xAARRGGBB, color premultiplied by alpha: over white is c + (255 - a).
                    let pixel = row[x]
                    let alpha = hasAlpha ? Int(pixel >> 24) : 255
                    let r = Int((pixel >> 16) & 0xFF), g = Int((pixel >> 8) & 0xFF), b = Int(pixel & 0xFF)
                    let luma = (299 * r + 587 * g + 114 * b) / 1000 + (255 - alpha)
                    gray[y * width + x] = UInt8(min(255, luma))
                }
            }
        case CAIRO_FORMAT_A8:
            for y in 0..<height {
                for x in 0..<width { gray[y * width + x] = 255 - data[y * stride + x] }
            }
        default:
            throw ImprintError(code: .unreadableImage, reason: "unsupported PNG pixel format")
        }
        pixels = gray
    }
}

/// Loads PNG bytes as a cairo image surface (the caller destroys it).
func cairoSurface(png: [UInt8]) throws(ImprintError) -> OpaquePointer {
    let source = ByteSource(png)
    guard png.starts(with: [0x89, 0x50, 0x4E, 0x47]),
          let surface = cairo_image_surface_create_from_png_stream(readFromSource, Unmanaged.passUnretained(source).toOpaque()) else {
        throw ImprintError(code: .unreadableImage, reason: "the seal image is not a PNG")
    }
    guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
        cairo_surface_destroy(surface)
        throw ImprintError(code: .unreadableImage, reason: "cairo cannot read the seal image PNG")
    }
    return surface
}
