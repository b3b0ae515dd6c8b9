import ChatEngine
import Foundation

/// The compare view: one column per mode (its own session and conversation), a per-turn table with
/// totals and ratios, and a chart of request bytes per turn per mode.
extension Views {
    static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// A row of block characters for `values` scaled to `maxValue`, the last `width` values.
    public static func sparkline(_ values: [Int], maxValue: Int, width: Int) -> String {
        guard maxValue > 0, width > 0 else { return "" }
        return String(values.suffix(width).map { v in
            v <= 0 ? " " : bars[min(bars.count - 1, Int((Double(v) / Double(maxValue)) * Double(bars.count - 1) + 0.5))]
        })
    }

    static func renderCompare(_ g: inout Grid, _ s: AppState, _ c: CompareViewState, _ cache: LayoutCache) {
        let w = g.width, h = g.height
        let bar = Style(.status, reverse: true)
        g.fill(x: 0, y: 0, width: w, height: 1, style: bar)
        let busy = c.inFlight > 0 ? " · \(c.inFlight) repl\(c.inFlight == 1 ? "y" : "ies") arriving…" : ""
        let backend = s.backend.isOffline ? "offline model" : s.backend.displayName
        g.put(" chatbench · COMPARE · \(c.columns.count) modes · \(backend) · turn \(c.turn)\(busy)", x: 0, y: 0, style: Style(.status, bold: true, reverse: true))
        let inputH = 3
        let footerY = h - 1
        let inputY = footerY - inputH
        let bodyH = inputY - 1
        // Heights, most essential first: the columns, the table's totals and last turn, the summary
        // (whole lines only), more turns, then the chart.
        let table = CompareTable(c, width: w - 4, pricing: s.pricing, model: s.backend.defaultModel)
        let colsMin = 5
        var summaryShown = 0
        var used = colsMin + table.fixedHeight + table.lastTurnRows
        for lines in table.summary where used + lines.count <= bodyH {
            used += lines.count
            summaryShown += 1
        }
        let chartWant = c.rows.isEmpty ? 0 : c.columns.count + 2
        let chartH = used + chartWant + 1 <= bodyH ? chartWant : 0
        let moreRows = max(0, min(table.rows.count - table.lastTurnRows, bodyH / 3 - (used - colsMin), bodyH - used - chartH))
        let perTurn = min(table.rows.count, table.lastTurnRows + moreRows)
        let tableH = min(bodyH - colsMin, table.fixedHeight + perTurn + table.summary.prefix(summaryShown).reduce(0) { $0 + $1.count })
        let colsH = max(3, bodyH - tableH - chartH)
        let colW = w / max(1, c.columns.count)
        for (i, col) in c.columns.enumerated() {
            let x = i * colW
            let cw = i == c.columns.count - 1 ? w - x : colW
            let title = col.column.label + (col.error != nil ? " · ✕ failed" : col.streaming != nil ? " · streaming…" : "")
            g.box(x: x, y: 1, width: cw, height: colsH, style: Style(.border), title: title, titleStyle: Style(col.error != nil ? .error : .title, bold: true))
            let rows = cache.visible(col.display(index: i, pendingUser: c.pendingUser), width: cw - 2, height: colsH - 2, scroll: .follow)
            for (r, line) in rows.enumerated() {
                var lx = x + 1
                for span in line.spans { lx = g.put(span.text, x: lx, y: 2 + r, style: span.style, maxX: x + cw - 1) }
            }
            if let e = col.error { g.put("✕ " + e, x: x + 1, y: colsH - 1, style: Style(.error), maxX: x + cw - 1) }
        }
        compareTable(&g, table, perTurn: perTurn, summaryLines: summaryShown, Rect(x: 0, y: 1 + colsH, width: w, height: tableH))
        if chartH > 0 { compareChart(&g, c, Rect(x: 0, y: 1 + colsH + tableH, width: w, height: chartH)) }
        inputBox(&g, s, Rect(x: 0, y: inputY, width: w, height: inputH))
        if let notice = s.notice {
            g.put(" " + notice, x: 0, y: footerY, style: Style(.warning))
        } else {
            var x = 1
            for (i, hint) in [("Enter", "send to all"), ("F2", "add mode"), ("Bksp", "drop mode"), ("F3/Esc", "back"), ("Ctrl-Q", "quit")].enumerated() {
                if i > 0 { x = g.put(" · ", x: x, y: footerY, style: Style(.dim)) }
                x = g.put(hint.0, x: x, y: footerY, style: Style(.key, bold: true))
                x = g.put(" " + hint.1, x: x, y: footerY, style: Style(.footer))
            }
        }
    }

    /// The per-turn table as text rows: cells that fit the width (turn, mode and bytes always; then
    /// items, tokens, latency as room allows), the totals, and the summary wrapped to the width.
    struct CompareTable {
        var header: String
        var rows: [(String, Bool)]      // (text, failed), oldest first
        var totals: [String]
        var summary: [[String]]         // each summary line, wrapped
        var lastTurnRows: Int
        var fixedHeight: Int { 3 + totals.count }   // borders, header, totals

        /// `pricing`: adds an estimated cost per turn (as room allows) and per mode, priced as `model`.
        init(_ c: CompareViewState, width: Int, pricing: Pricing? = nil, model: String = "") {
            let labelW = max(4, c.columns.map(\.column.label.count).max() ?? 4, c.rows.map(\.mode.count).max() ?? 4)
            let priced = pricing != nil
            let widths = priced ? [5, labelW, 9, 5, 7, 6, 7, 9, 7] : [5, labelW, 9, 5, 7, 6, 7, 7]
            func cells(_ all: [String]) -> [String] { priced ? all : all.enumerated().filter { $0.offset != 7 }.map(\.element) }
            let rowsIn = pricing.map { CompareSummary.priced(c.rows, pricing: $0, model: model) } ?? c.rows
            var n = 2
            var used = widths[0] + 2 + widths[1]
            while n < widths.count && used + 2 + widths[n] <= width { used += 2 + widths[n]; n += 1 }
            func line(_ cells: [String]) -> String {
                cells.prefix(n).enumerated().map { i, cell in
                    i == 1 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: max(0, widths[i] - cell.count)) + cell
                }.joined(separator: "  ")
            }
            header = line(cells(["turn", "mode", "req bytes", "items", "in tok", "cached", "out tok", "est. $", "latency"]))
            let sorted = rowsIn.sorted { ($0.turn, $0.mode) < ($1.turn, $1.mode) }
            rows = sorted.map { t in
                if let e = t.error { return (line(["\(t.turn)", t.mode]) + "  failed: " + e, true) }
                return (line(cells(["\(t.turn)", t.mode, "\(t.request_bytes)", "\(t.items_sent)", "\(t.input_tokens)", "\(t.cached_tokens)",
                                    "\(t.output_tokens)", t.cost_usd.map(CostEstimate.format) ?? "—", String(format: "%.0fms", t.latency_ms)])), false)
            }
            lastTurnRows = sorted.filter { $0.turn == sorted.last?.turn }.count
            let summary = CompareSummary.of(rowsIn, sessions: [:], pricing: pricing, model: model)
            totals = summary.columns.map { col in
                line(cells(["total", col.mode, "\(col.total_request_bytes)", "", "\(col.total_input_tokens)", "\(col.total_cached_tokens)",
                            "\(col.total_output_tokens)", col.total_cost_usd.map(CostEstimate.format) ?? "—", String(format: "%.0fms", col.mean_latency_ms)]))
            }
            // Each mode's total in dollars and its cache hit rate, whatever the width (wrapped, never cut).
            if let pricing, !summary.columns.isEmpty {
                let each = summary.columns.map { "\($0.mode) \($0.total_cost_usd.map { "≈" + CostEstimate.format($0) } ?? "—") (cache hit \(CompareSummary.pct($0.cache_hit_rate)))" }
                let how = summary.price_model.map { "est., prices of \(summary.prices_taken ?? "?") for \($0)" } ?? "no price for \(pricing.model(for: model)) in the table"
                totals += TextLayout.wrap([Span("cost: " + each.joined(separator: " · ") + " — " + how, .text)], width: width).map(\.text)
            }
            self.summary = summary.lines.prefix(max(0, summary.columns.count - 1)).map { text in
                TextLayout.wrap([Span(text, .text)], width: width).map(\.text)
            }
        }
    }

    static func compareTable(_ g: inout Grid, _ t: CompareTable, perTurn: Int, summaryLines: Int, _ r: Rect) {
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.border), title: "Per turn", titleStyle: Style(.title, bold: true))
        guard r.height > 2 else { return }
        let maxX = r.x + r.width - 2
        var y = r.y + 1
        let bottom = r.y + r.height - 1
        func put(_ text: String, _ style: Style) {
            guard y < bottom else { return }
            g.put(text, x: r.x + 2, y: y, style: style, maxX: maxX)
            y += 1
        }
        put(t.header, Style(.dim))
        for row in t.rows.suffix(perTurn) { put(row.0, Style(row.1 ? .error : .text)) }
        for total in t.totals { put(total, Style(.accent, bold: true)) }
        for line in t.summary.prefix(summaryLines).joined() { put(line, Style(.accent)) }
    }

    static func compareChart(_ g: inout Grid, _ c: CompareViewState, _ r: Rect) {
        guard r.height >= 3 else { return }
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.border), title: "Request bytes per turn", titleStyle: Style(.title, bold: true))
        let maxBytes = c.rows.map(\.request_bytes).max() ?? 0
        let labelW = 20
        let lastTurn = c.rows.map(\.turn).max() ?? 0
        for (i, col) in c.columns.enumerated() where i < r.height - 2 {
            // One bar per turn of the comparison: a column added later is blank before its first turn.
            let mine = Dictionary(c.rows.filter { $0.mode == col.column.label }.map { ($0.turn, $0.request_bytes) }, uniquingKeysWith: { a, _ in a })
            let values = lastTurn == 0 ? [] : (1...lastTurn).map { mine[$0] ?? 0 }
            let y = r.y + 1 + i
            g.put(col.column.label.padding(toLength: labelW, withPad: " ", startingAt: 0), x: r.x + 2, y: y, style: Style(.dim), maxX: r.x + r.width - 1)
            let line = sparkline(values, maxValue: maxBytes, width: r.width - labelW - 16)
            let x = g.put(line, x: r.x + 2 + labelW, y: y, style: Style(i % 2 == 0 ? .chain : .accent), maxX: r.x + r.width - 1)
            if let last = mine[lastTurn] { g.put(" \(bytes(last))", x: x, y: y, style: Style(.dim), maxX: r.x + r.width - 1) }
        }
    }
}
