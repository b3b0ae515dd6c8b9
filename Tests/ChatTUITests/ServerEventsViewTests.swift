import ChatEngine
import Foundation
import Testing
@testable import ChatTUI

/// The chain panel marks what the server did to a turn's context, and the memory panel says what the
/// server holds after it, the server policy, and the cache hits (#19).
@Suite struct ServerEventsViewTests {
    static func state(width: Int, height: Int) -> AppState {
        var s = Fixture.state(.chain, width: width, height: height)
        s.session?.serverPolicy = "compact:1000+truncate:auto"
        s.width = width
        s.turns[1].serverEvent = .compacted
        s.turns[1].inputTokens = 1210
        s.turns[2].serverEvent = .truncated
        s.memory?.serverPolicy = "compact:1000+truncate:auto"
        s.memory?.compactedAtTurn = 2
        s.memory?.truncatedAtTurn = 3
        s.memory?.serverItems = 4
        s.memory?.totalInputTokens = 2000
        s.memory?.totalCachedTokens = 1536
        return s
    }

    @Test func compactionAndTruncationAreShownWhereTheyHappened() {
        for (w, h) in [(120, 40), (80, 24)] {
            let g = Views.render(Self.state(width: w, height: h), layout: LayoutCache())
            assertSnapshot(g, "server-events-\(w)x\(h)")
            for y in 0..<g.height { #expect(DisplayWidth.of(g.row(y)) == w) }
        }
        let wide = Views.render(Self.state(width: 120, height: 40), layout: LayoutCache()).text
        #expect(wide.contains("▣ server compacted (in 1210 tok)"))
        #expect(wide.contains("✂ server truncated (inferred)"))
        #expect(wide.contains("compaction + 3 items"))
        #expect(wide.contains("srv policy compact:1000+truncate:auto"))
        #expect(wide.contains("77% of input · 1536 tok"))
    }
}
