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
        let chartH = min(c.columns.count + 2, 6)
        let tableH = max(5, min(bodyH / 3, c.columns.count * 3 + 4))
        let colsH = max(4, bodyH - tableH - chartH)
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
        compareTable(&g, c, Rect(x: 0, y: 1 + colsH, width: w, height: tableH))
        compareChart(&g, c, Rect(x: 0, y: 1 + colsH + tableH, width: w, height: bodyH - colsH - tableH))
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

    static func compareTable(_ g: inout Grid, _ c: CompareViewState, _ r: Rect) {
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.border), title: "Per turn", titleStyle: Style(.title, bold: true))
        guard r.height > 2 else { return }
        let header = "turn  mode                 req bytes  items  in tok (cached)  out tok  latency"
        g.put(header, x: r.x + 2, y: r.y + 1, style: Style(.dim), maxX: r.x + r.width - 1)
        let summary = CompareSummary.of(c.rows, sessions: [:])
        let totalsH = summary.columns.count + (summary.columns.count > 1 ? 1 : 0)
        let space = max(0, r.height - 3 - totalsH)
        let rows = c.rows.sorted { ($0.turn, $0.mode) < ($1.turn, $1.mode) }.suffix(space)
        var y = r.y + 2
        for t in rows {
            let line = String(format: "%4d  ", t.turn) + t.mode.padding(toLength: 18, withPad: " ", startingAt: 0)
                + (t.error != nil ? "  failed: \(t.error!.prefix(40))"
                   : String(format: " %10d %6d %9d (%4d) %8d %7.0fms", t.request_bytes, t.items_sent, t.input_tokens, t.cached_tokens, t.output_tokens, t.latency_ms))
            g.put(line, x: r.x + 2, y: y, style: Style(t.error != nil ? .error : .text), maxX: r.x + r.width - 1)
            y += 1
        }
        y = r.y + r.height - 1 - totalsH
        for col in summary.columns {
            let line = "total " + col.mode.padding(toLength: 18, withPad: " ", startingAt: 0)
                + String(format: " %10d        %9d (%4d) %8d  ", col.total_request_bytes, col.total_input_tokens, col.total_cached_tokens, col.total_output_tokens)
            g.put(line, x: r.x + 2, y: y, style: Style(.accent, bold: true), maxX: r.x + r.width - 1)
            y += 1
        }
        if summary.columns.count > 1 {
            g.put(summary.lines.prefix(summary.columns.count - 1).joined(separator: " · "), x: r.x + 2, y: y, style: Style(.accent), maxX: r.x + r.width - 1)
        }
    }

    static func compareChart(_ g: inout Grid, _ c: CompareViewState, _ r: Rect) {
        guard r.height >= 3 else { return }
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.border), title: "Request bytes per turn", titleStyle: Style(.title, bold: true))
        let maxBytes = c.rows.map(\.request_bytes).max() ?? 0
        let labelW = 20
        for (i, col) in c.columns.enumerated() where i < r.height - 2 {
            let values = c.rows.filter { $0.mode == col.column.label }.sorted { $0.turn < $1.turn }.map(\.request_bytes)
            let y = r.y + 1 + i
            g.put(col.column.label.padding(toLength: labelW, withPad: " ", startingAt: 0), x: r.x + 2, y: y, style: Style(.dim), maxX: r.x + r.width - 1)
            let line = sparkline(values, maxValue: maxBytes, width: r.width - labelW - 16)
            let x = g.put(line, x: r.x + 2 + labelW, y: y, style: Style(i % 2 == 0 ? .chain : .accent), maxX: r.x + r.width - 1)
            if let last = values.last { g.put(" \(bytes(last))", x: x, y: y, style: Style(.dim), maxX: r.x + r.width - 1) }
        }
    }
}
