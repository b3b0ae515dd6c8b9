import ChatEngine
import Foundation
import Testing
@testable import ChatTUI

/// Estimated dollars on the screen: the memory panel (this turn and the session) and the compare view.
@Suite struct DollarsTests {
    /// A fixed table (not the shipped one, whose prices change with LiteLLM), so the snapshots stay put.
    static let pricing: Pricing = {
        let json = #"""
        {"chatbench_source": {"taken": "2030-01-02", "from": "test"},
         "gpt-4.1-mini": {"input_cost_per_token": 4e-07, "cache_read_input_token_cost": 1e-07, "output_cost_per_token": 1.6e-06}}
        """#
        return Pricing(table: try! PriceTable.parse(Data(json.utf8), file: "test.json"))
    }()

    static func state(_ mode: MemoryMode, width: Int, height: Int) -> AppState {
        var s = Fixture.state(mode, width: width, height: height)
        s.pricing = pricing
        // Some of the last turn was read from the cache, so the cached price shows in the figures.
        s.memory?.last?.cachedTokens = 40
        s.memory?.totalCachedTokens = 40
        return s
    }

    @Test func theMemoryPanelShowsThisTurnsAndTheSessionsCost() {
        for (mode, w, h) in [(MemoryMode.chain, 80, 24), (.client, 120, 40)] {
            let s = Self.state(mode, width: w, height: h)
            let g = Views.render(s, layout: LayoutCache())
            assertSnapshot(g, "memory-dollars-\(mode.rawValue)-\(w)x\(h)")
            for y in 0..<g.height { #expect(DisplayWidth.of(g.row(y)) == w, "row \(y) is not \(w) cells wide") }
            let m = s.memory!, last = m.last!
            // By hand: uncached input at the input price, cached at the cached price, output at the output price.
            let turn = Double(last.inputTokens! - 40) * 4e-07 + 40 * 1e-07 + Double(last.outputTokens!) * 1.6e-06
            let total = Double(m.totalInputTokens - 40) * 4e-07 + 40 * 1e-07 + Double(m.totalOutputTokens) * 1.6e-06
            let rows = Views.memoryRows(s)
            #expect(rows.contains { $0.0 == "cost" && $0.1 == "≈" + CostEstimate.format(turn) + " est." }, "\(rows)")
            #expect(rows.contains { $0.0 == "all cost" && $0.1 == "≈" + CostEstimate.format(total) + " est." }, "\(rows)")
            #expect(rows.contains { $0.0 == "priced as" && $0.1 == "gpt-4.1-mini, 2030-01-02" })
            #expect(g.text.contains("≈" + CostEstimate.format(total)))
        }
    }

    @Test func withoutAPriceThePanelSaysSoAndShowsNoDollars() {
        var s = Self.state(.chain, width: 120, height: 40)
        s.pricing = Pricing(table: Self.pricing.table, priceAs: "unknown-model")
        let rows = Views.memoryRows(s)
        #expect(rows.contains { $0.0 == "cost" && $0.1 == "no price" })
        #expect(rows.contains { $0.0 == "all cost" && $0.1 == "no price for unknown-model" })
        #expect(!Views.render(s, layout: LayoutCache()).text.contains("$"))
    }

    @Test func theCompareViewShowsEachModesCost() {
        let two = [CompareColumn(mode: .chain), CompareColumn(mode: .client)]
        let three = two + [CompareColumn(mode: .client, policy: "window:2")]
        for (cols, w, h) in [(two, 120, 40), (three, 80, 24)] {
            var s = CompareViewTests.state(width: w, height: h, columns: cols)
            s.pricing = Self.pricing
            let g = Views.render(s, layout: LayoutCache())
            assertSnapshot(g, "compare-dollars-\(w)x\(h)")
            for y in 0..<g.height { #expect(DisplayWidth.of(g.row(y)) == w) }
            // Each column: 20 + 45 + 70 input tokens, 27 output, none cached.
            let each = "≈" + CostEstimate.format(135 * 4e-07 + 27 * 1.6e-06) + " (cache hit 0%)"
            let screen = (0..<h).map { g.row($0) }.joined(separator: " ").replacingOccurrences(of: "│", with: " ")
                .split(separator: " ").joined(separator: " ")
            for c in cols { #expect(screen.contains(c.label + " " + each), "\(c.label) at \(w)x\(h):\n\(g.text)") }
            #expect(screen.contains("prices of 2030-01-02 for gpt-4.1-mini"), "\(g.text)")
        }
        // At 120 columns each turn has its cost too.
        var s = CompareViewTests.state(width: 120, height: 40, columns: two)
        s.pricing = Self.pricing
        let g = Views.render(s, layout: LayoutCache())
        #expect(g.text.contains("est. $") && g.text.contains(CostEstimate.format(70 * 4e-07 + 9 * 1.6e-06)))
    }
}
