// Debian's cairo (libcairo2-dev) with its FreeType/fontconfig font backend: SealImprint draws the
// imprint and its QR code with it, to PNG and SVG (docs/imprint.md).
#include <cairo.h>
#include <cairo-svg.h>
#include <cairo-ft.h>
#include <fontconfig/fontconfig.h>

// The font fontconfig resolves for `family` that best covers the `count` code points given (they go
// into the pattern's charset, which fontconfig weighs first when matching), after the configuration
// and default substitutions; NULL when fontconfig has no font at all. The caller destroys it.
// (A helper in C: FC_* names are macros and the pattern calls take FcChar8 strings.)
static inline FcPattern *sealkit_match_font(const char *family, int bold, const unsigned int *codepoints, int count) {
    FcPattern *pattern = FcPatternCreate();
    if (!pattern) return NULL;
    FcPatternAddString(pattern, FC_FAMILY, (const FcChar8 *)family);
    FcPatternAddInteger(pattern, FC_WEIGHT, bold ? FC_WEIGHT_BOLD : FC_WEIGHT_REGULAR);
    FcCharSet *charset = FcCharSetCreate();
    if (charset) {
        for (int i = 0; i < count; i++) FcCharSetAddChar(charset, codepoints[i]);
        FcPatternAddCharSet(pattern, FC_CHARSET, charset);
        FcCharSetDestroy(charset);
    }
    FcConfigSubstitute(NULL, pattern, FcMatchPattern);
    FcDefaultSubstitute(pattern);
    FcResult result = FcResultNoMatch;
    FcPattern *match = FcFontMatch(NULL, pattern, &result);
    FcPatternDestroy(pattern);
    return match;
}

// Whether the matched font's charset holds `codepoint`.
static inline int sealkit_font_has_char(FcPattern *match, unsigned int codepoint) {
    FcCharSet *charset = NULL;
    if (FcPatternGetCharSet(match, FC_CHARSET, 0, &charset) != FcResultMatch || !charset) return 0;
    return FcCharSetHasChar(charset, codepoint) ? 1 : 0;
}

// The matched font's family name and file (owned by the pattern), or NULL.
static inline const char *sealkit_font_family(FcPattern *match) {
    FcChar8 *value = NULL;
    return FcPatternGetString(match, FC_FAMILY, 0, &value) == FcResultMatch ? (const char *)value : NULL;
}
static inline const char *sealkit_font_file(FcPattern *match) {
    FcChar8 *value = NULL;
    return FcPatternGetString(match, FC_FILE, 0, &value) == FcResultMatch ? (const char *)value : NULL;
}
