import ChatEngine
import Foundation

extension Views {
    // MARK: Overlays

    static func centered(_ g: inout Grid, width: Int, height: Int, title: String) -> Rect {
        let w = min(width, g.width - 2), h = min(height, g.height - 2)
        let r = Rect(x: (g.width - w) / 2, y: (g.height - h) / 2, width: w, height: h)
        g.fill(x: r.x, y: r.y, width: r.width, height: r.height, style: .text)
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.accent), title: title, titleStyle: Style(.title, bold: true))
        return r
    }

    /// The help screen's rows, generated from the key table.
    public static func helpRows() -> [(String, String)] {
        KeyTable.bindings.map { ($0.label, $0.help) }
    }

    /// The help's lines at this screen width, and how many of them the box shows at once (all of
    /// them, or one row fewer than fit, for the scroll line): the view draws them, PgUp/PgDn page by it.
    static func helpLayout(width: Int, height: Int) -> (lines: [[Span]], contentW: Int, shown: Int) {
        let labelW = 9
        let rows = helpRows()
        let modes = "Modes: chain sends previous_response_id · conversation sends a conversation id · client resends the history · hybrid chains and resends long-term facts · layered assembles working memory, a summary, facts and passages of other sessions. Esc closes."
        let widest = max(rows.map { labelW + DisplayWidth.of($0.1) }.max() ?? 0, 60)
        let contentW = max(10, min(widest, width - 6))
        var lines: [[Span]] = []
        for row in rows {
            let wrapped = TextLayout.wrap([Span(row.1, .text)], width: contentW - labelW)
            for (i, line) in wrapped.enumerated() {
                lines.append([Span(i == 0 ? row.0.padding(toLength: labelW, withPad: " ", startingAt: 0) : String(repeating: " ", count: labelW),
                                   Style(.key, bold: true))] + line.spans)
            }
        }
        lines.append([])
        lines += TextLayout.wrap([Span(modes, Style(.dim))], width: contentW).map(\.spans)
        let innerH = min(lines.count + 2, height - 2) - 2   // the box `centered` draws, less its border
        return (lines, contentW, lines.count <= innerH ? innerH : max(1, innerH - 1))
    }

    /// The help: one row per key, wrapped under its label to the box (never cut); the box is as wide
    /// as the longest row allows on this screen, and scrolls (Up/Down) when it is taller.
    static func help(_ g: inout Grid, scroll: Int) {
        let (lines, contentW, shownH) = helpLayout(width: g.width, height: g.height)
        let r = centered(&g, width: contentW + 4, height: lines.count + 2, title: "Help · keys")
        let fits = lines.count <= shownH
        let first = fits ? 0 : min(max(0, scroll), lines.count - shownH)
        for (i, spans) in lines.dropFirst(first).prefix(shownH).enumerated() {
            var x = r.x + 2
            for span in spans { x = g.put(span.text, x: x, y: r.y + 1 + i, style: span.style, maxX: r.x + r.width - 2) }
        }
        if !fits {
            let more = "\(first > 0 ? "↑" : " ")\(first + shownH < lines.count ? "↓" : " ") rows \(first + 1)–\(first + shownH) of \(lines.count) · Up/Down scroll · Esc closes"
            g.put(more, x: r.x + 2, y: r.y + r.height - 2, style: Style(.accent), maxX: r.x + r.width - 2)
        }
    }

    static func picker(_ g: inout Grid, _ s: AppState, _ selected: Int) {
        let r = centered(&g, width: 60, height: ModeChoice.all.count + 5, title: "Memory mode · policy")
        let inCompare = s.compare != nil
        for (i, c) in ModeChoice.all.enumerated() where i < r.height - 4 {
            // The session's mode and policy is marked with its own number (window:2 shows as such).
            let current = !inCompare && c.isCurrent(mode: s.session?.mode, policy: s.session?.policy, serverPolicy: s.session?.serverPolicy)
            let style = i == selected ? Style(.selection, bold: true, reverse: true) : .text
            var label = c.label
            if let kind = c.numberKind {
                label += "\(s.policyNumbers[kind])" + (kind == "budget" || kind == "compact" ? " tokens" : "")
                if i == selected { label += "  ◂ ▸" }
            }
            g.put((current ? "● " : "  ") + label, x: r.x + 2, y: r.y + 1 + i, style: style, maxX: r.x + r.width - 2)
        }
        g.put("Up/Down choose · ◂ ▸ or digits set N · Backspace", x: r.x + 2, y: r.y + r.height - 3, style: Style(.dim), maxX: r.x + r.width - 1)
        g.put("Enter \(inCompare ? "add this column" : "switch") · Esc close", x: r.x + 2, y: r.y + r.height - 2, style: Style(.dim), maxX: r.x + r.width - 1)
    }

    static func newSession(_ g: inout Grid, _ editor: InputEditor) {
        let r = centered(&g, width: 50, height: 5, title: "New session")
        g.put("name: ", x: r.x + 2, y: r.y + 1, style: Style(.dim))
        let (lines, caret) = editor.layout(width: r.width - 10)
        // A selected default is drawn reversed, as selected text: typing replaces it.
        g.put(lines.last ?? "", x: r.x + 8, y: r.y + 1, style: Style(.input, reverse: editor.selected, underline: true), maxX: r.x + r.width - 2)
        g.put("Enter create · Esc cancel", x: r.x + 2, y: r.y + 3, style: Style(.dim))
        g.cursor = (r.x + 8 + caret.x, r.y + 1)
    }
}
