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
        #expect(DisplayWidth.of("👨‍👩‍👧") == 2)               // a ZWJ family is one cluster
        #expect(DisplayWidth.of("❤️") == 2)                 // VS16 asks for emoji presentation
        #expect(DisplayWidth.of("❤") == 1)                  // text presentation stays narrow
        #expect(DisplayWidth.of("🇯🇵") == 2)                // a flag is one cluster of two cells
        #expect(DisplayWidth.of("👍🏽") == 2)                // skin-tone modifier
        #expect(DisplayWidth.of("漢字テスト😀é") == 13)
        #expect(DisplayWidth.of("a\tb\u{7}") == 2)         // controls take no cell
    }
}
