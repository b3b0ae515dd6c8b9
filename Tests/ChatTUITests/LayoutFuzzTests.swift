import Foundation
import Testing
@testable import ChatTUI

/// Seeded fuzzing of wrapping and Markdown layout: no laid-out line is wider than its pane, and no
/// text is lost by wrapping. CHATBENCH_FUZZ_ITERATIONS for long runs.
@Suite struct LayoutFuzzTests {
    struct Gen: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }
    static let iterations = Int(ProcessInfo.processInfo.environment["CHATBENCH_FUZZ_ITERATIONS"] ?? "") ?? 4000
    static let pieces = ["word", " ", "  ", "\n", "\t", "漢字", "😀", "👨‍👩‍👧", "🇯🇵", "e\u{301}", "**", "`", "```", "- ", "1. ", "# ", "\u{1b}[31m",
                         "\u{0}", "\r\n", String(repeating: "x", count: 40), "ｆｕｌｌ", "\u{200b}", "❤️"]

    @Test func noLineIsWiderThanItsPane() {
        var g = Gen(state: 4)
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
