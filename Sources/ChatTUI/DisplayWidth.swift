/// Terminal display width, counted in cells, from Unicode properties alone (no locale, no wcwidth):
/// East Asian Wide/Fullwidth = 2, emoji presentation = 2, combining marks / ZWJ / variation selectors = 0,
/// control characters = 0. A grapheme cluster is as wide as its base, or 2 when it is an emoji sequence.
public enum DisplayWidth {
    public static func of(_ c: Character) -> Int {
        if let a = c.asciiValue { return a >= 0x20 && a < 0x7F ? 1 : 0 }  // the common case, without Unicode tables
        let scalars = c.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if scalars.count == 1 { return of(scalar: first) }
        var base = 0
        var emoji = false
        var regional = 0
        for s in scalars {
            if s.value == 0xFE0F || s.value == 0x200D { emoji = emoji || s.value == 0xFE0F || s.properties.isEmoji; continue }
            if (0x1F1E6...0x1F1FF).contains(s.value) { regional += 1 }
            if s.properties.isEmojiPresentation || (s.properties.isEmoji && s.value > 0xFF) { emoji = true }
            if base == 0 { base = of(scalar: s) }
        }
        if regional >= 2 { return 2 }
        if emoji && scalars.contains(where: { $0.value == 0xFE0F || $0.value == 0x200D || $0.properties.isEmojiModifier }) { return 2 }
        return base
    }

    public static func of(_ s: String) -> Int {
        // All-ASCII printable text is one cell per byte.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return s.utf8.count }
        return s.reduce(0) { $0 + of($1) }
    }

    public static func of(scalar s: Unicode.Scalar) -> Int {
        let v = s.value
        if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
        if v < 0x300 { return 1 }
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if (0x1160...0x11FF).contains(v) || v == 0x200B { return 0 }  // Hangul medial/final jamo, zero width space
        if s.properties.isEmojiPresentation { return 2 }
        return isWide(v) ? 2 : 1
    }

    /// East Asian Wide and Fullwidth ranges (Unicode 15, EastAsianWidth.txt, condensed).
    private static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0, 0x23F3,
             0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18CFF, 0x1B000...0x1B2FF,
             0x1F200...0x1F2FF, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x1FA70...0x1FAFF,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
