/// Terminal display width, counted in cells, from Unicode properties alone (no locale): the widths
/// the C library's `wcwidth` gives and ncurses uses, so what the grid counts is what the terminal
/// draws. East Asian Wide/Fullwidth and emoji presentation = 2; combining marks, ZWJ, variation
/// selectors and controls = 0; everything else 1.
///
/// ncurses draws one spacing character per cell (plus the zero-width ones after it), so a grapheme
/// cluster with several spacing characters (a ZWJ family, a flag, a skin-tone modifier) is drawn as
/// several pieces side by side: 👨‍👩‍👧 takes 6 cells, 🇯🇵 two cells of one, ❤️ (VS16) one cell.
public enum DisplayWidth {
    public static func of(_ c: Character) -> Int {
        if let a = c.asciiValue { return a >= 0x20 && a < 0x7F ? 1 : 0 }  // the common case, without Unicode tables
        let scalars = c.unicodeScalars
        if scalars.count == 1, let s = scalars.first { return of(scalar: s) }
        return scalars.reduce(0) { $0 + of(scalar: $1) }
    }

    public static func of(_ s: String) -> Int {
        // All-ASCII printable text is one cell per byte.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return s.utf8.count }
        return s.reduce(0) { $0 + of($1) }
    }

    /// How a cluster is drawn: each spacing character with the zero-width characters after it, and
    /// its width (1 or 2). Zero-width characters before the first spacing one go with it; a cluster
    /// of zero-width characters only is one piece of width 0 (the grid skips it).
    public static func pieces(_ c: Character) -> [(text: String, width: Int)] {
        if c.unicodeScalars.count == 1 { return [(String(c), of(c))] }
        var out: [(text: String, width: Int)] = []
        var lead = ""
        for s in c.unicodeScalars {
            let w = of(scalar: s)
            if w > 0 {
                out.append((lead + String(s), w))
                lead = ""
            } else if out.isEmpty {
                lead.unicodeScalars.append(s)
            } else {
                out[out.count - 1].text.unicodeScalars.append(s)
            }
        }
        return out.isEmpty ? [(String(c), 0)] : out
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
        if (0x1F1E6...0x1F1FF).contains(v) { return 1 }   // regional indicators: East Asian neutral, a flag is two
        if s.properties.isEmojiPresentation { return 2 }
        return isWide(v) ? 2 : 1
    }

    /// East Asian Wide and Fullwidth ranges (Unicode 15, EastAsianWidth.txt, condensed). Emoji are
    /// wide by their Emoji_Presentation property above, not by block: U+1F300–1F64F also holds
    /// narrow symbols (🌡 U+1F321, 🕯 U+1F56F …).
    private static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0, 0x23F3,
             0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18CFF, 0x1B000...0x1B2FF,
             0x1F200...0x1F202, 0x1F210...0x1F23B, 0x1F240...0x1F248, 0x1F250...0x1F251, 0x1F260...0x1F265,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
