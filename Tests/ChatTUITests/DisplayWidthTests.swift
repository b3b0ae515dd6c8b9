import CNcursesw   // the wcwidth ncurses draws with
import Testing
@testable import ChatTUI

@Suite struct DisplayWidthTests {
    @Test func countsCellsNotCharacters() {
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of("漢字テスト") == 10)
        #expect(DisplayWidth.of("한국어") == 6)
        #expect(DisplayWidth.of("ｆｕｌｌ") == 8)             // fullwidth Latin
        #expect(DisplayWidth.of("😀") == 2)
        #expect(DisplayWidth.of("e\u{301}") == 1)          // combining accent joins its base
        #expect(DisplayWidth.of("👨‍👩‍👧") == 6)               // ncurses draws a ZWJ family as three emoji
        #expect(DisplayWidth.of("❤️") == 1)                 // VS16 changes no cell count in ncurses
        #expect(DisplayWidth.of("🇯🇵") == 2)                // a flag: two regional indicators of one cell
        #expect(DisplayWidth.of("👍🏽") == 4)                // the skin tone is a wide character of its own
        #expect(DisplayWidth.of("🌡") == 1)                 // narrow, though in the emoji block
        #expect(DisplayWidth.of("漢字テスト😀é") == 13)
        #expect(DisplayWidth.of("a\tb\u{7}") == 2)         // controls take no cell
    }

    /// The width of each cluster is what ncurses advances by when it draws it: the sum of the C
    /// library's wcwidth over its characters (ncurses uses wcwidth), on this machine.
    @Test func emojiSequencesAgreeWithWcwidth() throws {
        try #require(setlocale(LC_CTYPE, "C.UTF-8") != nil)
        func wc(_ s: Unicode.Scalar) -> Int32 { wcwidth(wchar_t(bitPattern: s.value)) }
        let sequences = ["👨‍👩‍👧", "👩🏽‍💻", "🏳️‍🌈", "🇯🇵", "🇵🇹", "❤️", "☺️", "✌🏿", "👍🏽", "1️⃣", "#️⃣", "🌡️", "🕯", "🌡", "😀", "🧳",
                         "☕", "⌚", "🤌", "🫠", "🐱", "📚", "e\u{301}", "漢", "ｆ"]
        for text in sequences {
            let c = Character(text)
            let expected = c.unicodeScalars.reduce(0) { $0 + Int(max(0, wc($1))) }
            #expect(DisplayWidth.of(c) == expected, "\(text) \(c.unicodeScalars.map { String($0.value, radix: 16) })")
            // And the grid takes exactly that many cells for it.
            var g = Grid(width: 20, height: 1)
            #expect(g.put(text, x: 0, y: 0, style: .text) == expected)
        }
        // Every emoji-range character that both the C library and Swift know.
        var checked = 0
        for v in UInt32(0x1F000)...0x1FAFF {
            guard let s = Unicode.Scalar(v), s.properties.age != nil, case let w = wc(s), w >= 0 else { continue }
            #expect(DisplayWidth.of(scalar: s) == Int(w), "U+\(String(v, radix: 16, uppercase: true))")
            checked += 1
        }
        #expect(checked > 1000)
    }

    /// The pieces of a ZWJ sequence are drawn without the joiner, so no terminal joins them into
    /// fewer cells than ncurses counted (tmux draws 👨‍👩‍👧 in 2 cells when the joiners reach it).
    @Test func zwjSequencesAreDrawnAsSeparatePieces() {
        var g = Grid(width: 10, height: 1)
        #expect(g.put("👨‍👩‍👧x", x: 0, y: 0, style: .text) == 7)
        #expect([g[0, 0].text, g[2, 0].text, g[4, 0].text, g[6, 0].text] == ["👨", "👩", "👧", "x"])
        #expect(!(0..<10).contains { g[$0, 0].text.unicodeScalars.contains("\u{200D}") })
    }
}
