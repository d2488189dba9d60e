import CCairo
import Crypto
import Foundation

/// What the imprint shows (docs/imprint.md, "The imprint"): the seal — the registered seal image, or
/// a generated round red seal with the organization's name around the rim, a star and the seal's
/// name across — ringed by the serial and expiration code in micro-text, the trace QR code, and the
/// serial, expiration code and expiry in legible text under the QR code.
public struct ImprintContent: Sendable, Hashable {
    /// The organization's name (around the rim of a generated seal).
    public var organizationName: String
    /// The seal's name (across a generated seal).
    public var sealName: String
    /// The stamp's watermark serial.
    public var serial: String
    /// The stamp's expiration code.
    public var expirationCode: String
    /// The stamp's expiry, seconds since 1970.
    public var expiry: UInt64
    /// The payload the QR code carries.
    public var payload: TracePayload
    /// The registered seal image (PNG), drawn instead of the generated seal.
    public var sealImagePNG: [UInt8]?

    /// The content of an imprint.
    public init(organizationName: String, sealName: String, serial: String, expirationCode: String, expiry: UInt64,
                payload: TracePayload, sealImagePNG: [UInt8]? = nil) {
        self.organizationName = organizationName
        self.sealName = sealName
        self.serial = serial
        self.expirationCode = expirationCode
        self.expiry = expiry
        self.payload = payload
        self.sealImagePNG = sealImagePNG
    }

    /// The seal image to draw, checked against the seal image hash the chip signs in every stamp:
    /// an imprint shows only the image registered at personalization.
    /// - Throws: ``ImprintError`` `.sealImageMismatch`.
    public static func checkedSealImage(_ png: [UInt8], registeredHash: [UInt8]?) throws(ImprintError) -> [UInt8] {
        guard let registeredHash else {
            throw ImprintError(code: .sealImageMismatch, reason: "the record names no registered seal image (the seal was personalized without one)")
        }
        let hash = Array(SHA256.hash(data: png))
        guard hash == registeredHash else {
            throw ImprintError(code: .sealImageMismatch, reason: "the seal image's SHA-256 is not the seal image hash the record's signature covers")
        }
        return png
    }
}

/// A drawn imprint and what went into it.
public struct RenderedImprint: Sendable {
    /// The PNG or SVG file.
    public let bytes: [UInt8]
    /// The QR code drawn.
    public let qrCode: QRCode
    /// The fonts the names were set in (organization, seal name), for the record.
    public let fonts: [ResolvedFont]
}

/// Draws imprints with cairo.
public enum ImprintRenderer {
    /// The seal's red (a vermilion close to seal paste).
    static let sealRed = (0.80, 0.09, 0.10)
    static let width = 800, height = 440
    static let sealCenter = (x: 215.0, y: 215.0), sealRadius = 190.0

    /// Draws `content` as a PNG or SVG of 800 × 440 pixels (or points).
    /// - Throws: ``ImprintError`` `.fontMissing` when no font has glyphs for a name, `.unreadableImage`
    ///   for a seal image that is not a PNG, `.payloadTooLarge`, `.renderingFailed`.
    public static func render(_ content: ImprintContent, format: ImageFormat) throws(ImprintError) -> RenderedImprint {
        let qr = try QRCode(text: content.payload.text, errorCorrection: .medium)
        let canvas = try Canvas(format: format, width: width, height: height)
        var fonts: [ResolvedFont] = []
        if let png = content.sealImagePNG {
            try drawSealImage(png, on: canvas)
        } else {
            fonts = try drawGeneratedSeal(organization: content.organizationName, name: content.sealName, on: canvas)
        }
        try drawMicroTextRing("\(content.serial) \(content.expirationCode)", on: canvas)

        // The QR code, whole modules of whole pixels, in the right part.
        let box = 330.0, left = 440.0, top = 20.0
        let moduleSize = max(1, (box / Double(qr.width + 8)).rounded(.down))
        let side = moduleSize * Double(qr.width + 8)
        qr.draw(on: canvas, x: left + (box - side) / 2, y: top + (box - side) / 2, moduleSize: moduleSize)

        // Legible lines under it: the serial, then the expiration code and expiry.
        let mono = try FontHandle(text: content.serial, family: "monospace", bold: false)
        let context = canvas.context
        canvas.setColor((0, 0, 0))
        cairo_set_font_face(context, mono.face)
        let expiry = Date(timeIntervalSince1970: TimeInterval(content.expiry))
        let dayFormatter = ISO8601DateFormatter()
        dayFormatter.formatOptions = [.withFullDate]
        let day = dayFormatter.string(from: expiry)
        for (line, text) in ["SN \(content.serial)", "EC \(content.expirationCode)  valid until \(day)"].enumerated() {
            cairo_set_font_size(context, 13)
            var extents = cairo_text_extents_t()
            cairo_text_extents(context, text, &extents)
            cairo_move_to(context, left + (box - extents.x_advance) / 2, top + box + 28 + Double(line) * 20)
            cairo_show_text(context, text)
        }
        return RenderedImprint(bytes: try canvas.finish(), qrCode: qr, fonts: fonts)
    }

    /// The generated seal: outer ring, the organization's name along the upper rim, a five-point
    /// star, the seal's name across the lower half. Returns the fonts the names were set in.
    private static func drawGeneratedSeal(organization: String, name: String, on canvas: Canvas) throws(ImprintError) -> [ResolvedFont] {
        let context = canvas.context
        let (cx, cy) = sealCenter
        let radius = sealRadius - 14
        canvas.setColor(sealRed)
        cairo_set_line_width(context, 9)
        cairo_new_path(context)
        cairo_arc(context, cx, cy, radius, 0, 2 * .pi)
        cairo_stroke(context)

        let organizationFont = try FontHandle(text: organization, family: "serif", bold: true)
        try requireGlyphs(organizationFont, for: organization)
        let nameFont = try FontHandle(text: name, family: "serif", bold: true)
        try requireGlyphs(nameFont, for: name)

        // The organization's name, one character at a time along the upper arc, each upright to
        // the rim; the font shrinks until the name fits in 250 degrees.
        cairo_set_font_face(context, organizationFont.face)
        let characters = organization.map(String.init)
        var fontSize = 40.0
        var advances: [Double] = []
        var baseline = 0.0, span = 0.0
        repeat {
            cairo_set_font_size(context, fontSize)
            var fontExtents = cairo_font_extents_t()
            cairo_font_extents(context, &fontExtents)
            baseline = radius - 12 - fontExtents.ascent
            advances = characters.map { character in
                var extents = cairo_text_extents_t()
                cairo_text_extents(context, character, &extents)
                return extents.x_advance
            }
            let gap = fontSize * 0.12
            span = (advances.reduce(0, +) + gap * Double(max(0, characters.count - 1))) / baseline
            if span <= 250 * .pi / 180 || fontSize <= 12 { break }
            fontSize -= 2
        } while true
        let gap = fontSize * 0.12
        var angle = -span / 2
        for (character, advance) in zip(characters, advances) {
            let middle = angle + (advance / 2) / baseline
            cairo_save(context)
            cairo_translate(context, cx, cy)
            cairo_rotate(context, middle)
            cairo_move_to(context, -advance / 2, -baseline)
            cairo_show_text(context, character)
            cairo_restore(context)
            angle += (advance + gap) / baseline
        }

        // The star.
        let starRadius = 44.0, inner = starRadius * 0.382
        cairo_new_path(context)
        for point in 0..<10 {
            let r = point % 2 == 0 ? starRadius : inner
            let a = -Double.pi / 2 + Double(point) * .pi / 5
            let (x, y) = (cx + r * cos(a), cy - 6 + r * sin(a))
            if point == 0 { cairo_move_to(context, x, y) } else { cairo_line_to(context, x, y) }
        }
        cairo_close_path(context)
        cairo_fill(context)

        // The seal's name across, scaled down to fit the chord.
        cairo_set_font_face(context, nameFont.face)
        var nameSize = 34.0
        var extents = cairo_text_extents_t()
        repeat {
            cairo_set_font_size(context, nameSize)
            cairo_text_extents(context, name, &extents)
            if extents.x_advance <= 2 * radius * 0.72 || nameSize <= 10 { break }
            nameSize -= 1
        } while true
        cairo_move_to(context, cx - extents.x_advance / 2, cy + radius * 0.52)
        cairo_show_text(context, name)
        return [organizationFont.resolved, nameFont.resolved]
    }

    /// The registered seal image, scaled into the seal's circle.
    private static func drawSealImage(_ png: [UInt8], on canvas: Canvas) throws(ImprintError) {
        let image = try cairoSurface(png: png)
        defer { cairo_surface_destroy(image) }
        let width = Double(cairo_image_surface_get_width(image)), height = Double(cairo_image_surface_get_height(image))
        guard width > 0, height > 0 else { throw ImprintError(code: .unreadableImage, reason: "the seal image is empty") }
        let box = 2 * (sealRadius - 14)
        let scale = min(box / width, box / height)
        let context = canvas.context
        cairo_save(context)
        cairo_translate(context, sealCenter.x - width * scale / 2, sealCenter.y - height * scale / 2)
        cairo_scale(context, scale, scale)
        cairo_set_source_surface(context, image, 0, 0)
        cairo_paint(context)
        cairo_restore(context)
    }

    /// The micro-text ring just outside the seal: `text` repeated around the full circle at 6.5
    /// units, legible under magnification, lost by a photocopier or a low-resolution scan.
    private static func drawMicroTextRing(_ text: String, on canvas: Canvas) throws(ImprintError) {
        let context = canvas.context
        let font = try FontHandle(text: text, family: "monospace", bold: false)
        cairo_set_font_face(context, font.face)
        cairo_set_font_size(context, 6.5)
        canvas.setColor(sealRed)
        let radius = sealRadius - 3
        let unit = Array(text + " · ").map(String.init)
        let advances = unit.map { character -> Double in
            var extents = cairo_text_extents_t()
            cairo_text_extents(context, character, &extents)
            return extents.x_advance
        }
        let circumference = 2 * Double.pi * radius
        let perUnit = advances.reduce(0, +)
        guard perUnit > 0 else { return }
        let repeats = max(1, Int(circumference / perUnit))
        // Spread the whole repeats evenly over the circle.
        let stretch = circumference / (perUnit * Double(repeats))
        var angle = 0.0
        for _ in 0..<repeats {
            for (character, advance) in zip(unit, advances) {
                cairo_save(context)
                cairo_translate(context, sealCenter.x, sealCenter.y)
                cairo_rotate(context, angle + (advance / 2) / radius)
                cairo_move_to(context, -advance / 2, -radius)
                cairo_show_text(context, character)
                cairo_restore(context)
                angle += advance * stretch / radius
            }
        }
    }

    private static func requireGlyphs(_ font: FontHandle, for text: String) throws(ImprintError) {
        guard font.resolved.missingCharacters.isEmpty else {
            throw ImprintError(code: .fontMissing,
                               reason: "no installed font has glyphs for '\(String(font.resolved.missingCharacters))' in '\(text)' (install fonts-wqy-zenhei or fonts-noto-cjk)")
        }
    }
}
