import CCairo

/// The font fontconfig chose for a piece of text, and whether it has a glyph for every character.
/// The imprint resolves one per name, so a Chinese organization name gets a CJK font (Debian's
/// fonts-wqy-zenhei or fonts-noto-cjk) while a Latin one keeps an ordinary sans.
public struct ResolvedFont: Sendable, Hashable {
    /// The matched font's family name, e.g. `WenQuanYi Zen Hei`.
    public let family: String
    /// The matched font file.
    public let file: String
    /// The characters of the text the font has no glyph for (by fontconfig's charset and by the
    /// glyph index cairo's scaled font gives them), in order; empty when the font covers the text.
    public let missingCharacters: [Character]

    /// Resolves the font for `text` from `family` (a fontconfig family or alias such as `sans-serif`),
    /// asking fontconfig for the font that best covers the text's characters.
    /// - Throws: ``ImprintError`` `.fontMissing` when fontconfig has no font at all.
    public static func resolve(for text: String, family: String = "sans-serif", bold: Bool = false) throws(ImprintError) -> ResolvedFont {
        let handle = try FontHandle(text: text, family: family, bold: bold)
        return handle.resolved
    }

    /// The glyph indices cairo's scaled font maps each Unicode scalar of `text` to (through the font
    /// resolved for `text` itself); index 0 is the font's "missing glyph" (`.notdef`).
    public static func glyphIndices(of text: String, family: String = "sans-serif") throws(ImprintError) -> [UInt] {
        try FontHandle(text: text, family: family, bold: false).glyphIndices(of: text)
    }
}

/// A fontconfig match turned into a cairo font face. Owns both; used by one thread.
final class FontHandle {
    let face: OpaquePointer
    let resolved: ResolvedFont

    init(text: String, family: String, bold: Bool) throws(ImprintError) {
        let scalars = text.unicodeScalars.map { UInt32($0.value) }
        guard let match = scalars.withUnsafeBufferPointer({ sealkit_match_font(family, bold ? 1 : 0, $0.baseAddress, Int32($0.count)) }) else {
            throw ImprintError(code: .fontMissing, reason: "fontconfig has no font (install fonts-dejavu-core and fonts-wqy-zenhei)")
        }
        defer { FcPatternDestroy(match) }
        guard let face = cairo_ft_font_face_create_for_pattern(match), cairo_font_face_status(face) == CAIRO_STATUS_SUCCESS else {
            throw ImprintError(code: .fontMissing, reason: "cairo cannot load the font fontconfig chose for '\(text.prefix(20))'")
        }
        self.face = face
        let familyName = sealkit_font_family(match).map { String(cString: $0) } ?? "?"
        let file = sealkit_font_file(match).map { String(cString: $0) } ?? "?"
        var missing: [Character] = []
        // Both judges: fontconfig's charset of the file, and the glyph cairo's scaled font finds.
        let indices = Self.glyphIndices(face: face, text: text)
        for (scalar, glyph) in zip(text.unicodeScalars, indices) where !scalar.properties.isWhitespace {
            if sealkit_font_has_char(match, scalar.value) == 0 || glyph == 0 { missing.append(Character(scalar)) }
        }
        resolved = ResolvedFont(family: familyName, file: file, missingCharacters: missing)
    }

    deinit { cairo_font_face_destroy(face) }

    func glyphIndices(of text: String) -> [UInt] { Self.glyphIndices(face: face, text: text) }

    /// One glyph index per Unicode scalar of `text` (cairo_scaled_font_text_to_glyphs maps each
    /// scalar to one glyph; an unmapped one gets glyph 0).
    private static func glyphIndices(face: OpaquePointer, text: String) -> [UInt] {
        var matrix = cairo_matrix_t(), ctm = cairo_matrix_t()
        cairo_matrix_init_scale(&matrix, 32, 32)
        cairo_matrix_init_identity(&ctm)
        guard let options = cairo_font_options_create() else { return [] }
        defer { cairo_font_options_destroy(options) }
        guard let scaled = cairo_scaled_font_create(face, &matrix, &ctm, options) else { return [] }
        defer { cairo_scaled_font_destroy(scaled) }
        var glyphs: UnsafeMutablePointer<cairo_glyph_t>? = nil
        var count: Int32 = 0
        let status = cairo_scaled_font_text_to_glyphs(scaled, 0, 0, text, Int32(text.utf8.count), &glyphs, &count, nil, nil, nil)
        defer { if let glyphs { cairo_glyph_free(glyphs) } }
        guard status == CAIRO_STATUS_SUCCESS, let glyphs else { return [] }
        return (0..<Int(count)).map { UInt(glyphs[$0].index) }
    }
}
