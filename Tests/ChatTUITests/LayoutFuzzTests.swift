import Foundation
import Testing
import TestSupport
@testable import ChatTUI

/// Seeded fuzzing of wrapping and Markdown layout: no laid-out line is wider than its pane, and no
/// text is lost by wrapping. CHATBENCH_FUZZ_ITERATIONS for long runs.
@Suite struct LayoutFuzzTests {
    static let iterations = fuzzIterations
    static let pieces = ["word", " ", "  ", "\n", "\t", "漢字", "😀", "👨‍👩‍👧", "🇯🇵", "e\u{301}", "**", "`", "```", "- ", "1. ", "# ", "\u{1b}[31m",
                         "\u{0}", "\r\n", String(repeating: "x", count: 40), "ｆｕｌｌ", "\u{200b}", "❤️"]

    @Test func noLineIsWiderThanItsPane() {
        var g = SeededRandom(seed: 4)
        for _ in 0..<Self.iterations {
            var text = ""
            for _ in 0..<Int.random(in: 0..<30, using: &g) { text += Self.pieces.randomElement(using: &g)! }
            let width = Int.random(in: 1...60, using: &g)
            for line in TextLayout.markdown(text, width: width, base: .text) {
                #expect(line.width <= max(width, 2), "width \(width): \(line.text.debugDescription) from \(text.debugDescription)")
            }
            let plain = TextLayout.wrap([Span(text, .text)], width: width)
            for line in plain { #expect(line.width <= max(width, 2)) }
            let kept = plain.map(\.text).joined().filter { !$0.isWhitespace }
            #expect(kept == text.filter { !$0.isWhitespace }, "wrapping lost text at width \(width): \(text.debugDescription)")
            var grid = Grid(width: width, height: 2)
            grid.put(text, x: 0, y: 0, style: .text)
            #expect(DisplayWidth.of(grid.row(0)) == width)
        }
    }
}
