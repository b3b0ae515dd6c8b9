import ChatEngine
import Foundation

/// The session browser: sessions newest first (name, mode, backend, turns, last activity, size), an
/// incremental search, and a preview of the selected session's last messages and chain.
extension Views {
    static func renderBrowser(_ g: inout Grid, _ s: AppState, _ b: BrowserState, _ cache: LayoutCache) {
        let w = g.width, h = g.height
        g.fill(x: 0, y: 0, width: w, height: 1, style: Style(.status, reverse: true))
        g.put(" chatbench · SESSIONS · \(b.sessions.count) shown", x: 0, y: 0, style: Style(.status, bold: true, reverse: true))
        let listW = max(40, w * 11 / 20)
        let bodyH = h - 2
        g.box(x: 0, y: 1, width: listW, height: bodyH, style: Style(.border), title: "Sessions", titleStyle: Style(.title, bold: true))
        // Search line.
        let searching = b.prompt == .search
        var x = g.put(searching ? "/ " : "search: ", x: 2, y: 2, style: Style(searching ? .accent : .dim, bold: searching))
        x = g.put(b.query.text, x: x, y: 2, style: Style(.input, underline: searching), maxX: listW - 1)
        if searching { g.cursor = (x, 2) } else if b.query.isEmpty { g.put("(/ to search names and messages)", x: x, y: 2, style: Style(.dim), maxX: listW - 1) }
        // Rows wider than the list are cut with "…" (the columns to the right are the least needed).
        func cut(_ text: String) -> String { DisplayWidth.of(text) <= listW - 3 ? text : TextLayout.clip(text, to: listW - 4) + "…" }
        g.put(cut("name                 mode         turns  last activity     size"), x: 2, y: 3, style: Style(.dim), maxX: listW - 1)
        let rows = bodyH - 4
        let first = max(0, min(b.selected - rows / 2, b.sessions.count - rows))
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        f.timeZone = s.timeZone   // an input, so the view is a function of the state alone
        for (i, sum) in b.sessions.enumerated().dropFirst(first).prefix(rows) {
            let y = 4 + i - first
            let mode = sum.mode == "client" ? "client[\(sum.policy)]" : sum.mode
            // A long name keeps its end (forks differ there: trip-fork-1, trip-fork-2); a cut shows "…".
            let line = fit(OutsideText.line(sum.name), 20, keepEnd: true) + " " + fit(mode, 12) + " "
                + String(format: "%5d  ", sum.turns) + f.string(from: Date(timeIntervalSince1970: sum.last_activity)) + "  " + bytes(sum.bytes)
            let selected = i == b.selected
            if selected { g.fill(x: 1, y: y, width: listW - 2, height: 1, style: Style(.selection, reverse: true)) }
            g.put(cut(line), x: 2, y: y, style: selected ? Style(.selection, bold: true, reverse: true) : .text, maxX: listW - 1)
        }
        if b.sessions.isEmpty { g.put(b.query.isEmpty ? "no sessions yet" : "no session matches", x: 2, y: 4, style: Style(.dim)) }
        // Preview: the last messages, then the chain.
        let px = listW, pw = w - listW
        let chainH = min(max(4, b.previewTurns.count * 2 + 2), bodyH / 2)
        g.box(x: px, y: 1, width: pw, height: bodyH - chainH, style: Style(.border), title: b.current.map { "Preview · \(OutsideText.line($0.name))" } ?? "Preview",
              titleStyle: Style(.title, bold: true))
        let previewRows = cache.visible(b.preview, width: pw - 2, height: bodyH - chainH - 2, scroll: .follow)
        for (i, line) in previewRows.enumerated() {
            var lx = px + 1
            for span in line.spans { lx = g.put(span.text, x: lx, y: 2 + i, style: span.style, maxX: px + pw - 1) }
        }
        let forkTitle = b.forkAt.map { "Chain · fork point \($0.hasPrefix("resp_") ? IDs.short($0) : "m" + $0) ([ ] move)" } ?? "Chain"
        g.box(x: px, y: 1 + bodyH - chainH, width: pw, height: chainH, style: Style(.border), title: forkTitle, titleStyle: Style(.title, bold: true))
        var preview = s
        preview.turns = b.previewTurns
        preview.memory = nil
        for (i, line) in chainLines(preview, width: pw - 2, height: chainH - 2).enumerated() {
            var lx = px + 1
            for span in line.spans { lx = g.put(span.text, x: lx, y: 2 + bodyH - chainH + i, style: span.style, maxX: px + pw - 1) }
        }
        // Footer: a prompt, a message, or the keys.
        let fy = h - 1
        switch b.prompt {
        case .rename(let e), .fork(let e):
            let label: String
            if case .rename = b.prompt { label = " rename to: " } else { label = " fork at \(b.forkAt ?? "?") as: " }
            let x = g.put(label, x: 0, y: fy, style: Style(.accent, bold: true))
            let (lines, caret) = e.layout(width: max(1, w - x - 1))
            g.put(lines.last ?? "", x: x, y: fy, style: Style(.input, underline: true))
            g.cursor = (x + caret.x, fy)
        case .confirmDelete:
            g.put(" delete \(OutsideText.line(b.current?.name ?? ""))? y: local data · s: also its responses and conversation on the server · any other key: no",
                  x: 0, y: fy, style: Style(.error, bold: true))
        default:
            if let m = b.message {
                g.put(" " + OutsideText.line(m), x: 0, y: fy, style: Style(.warning))   // it may quote a name
            } else {
                var x = 1
                for (i, hint) in [("Enter", "open"), ("/", "search"), ("r", "rename"), ("d", "delete"), ("e", "export"), ("f", "fork"), ("Esc", "back")].enumerated() {
                    if i > 0 { x = g.put(" · ", x: x, y: fy, style: Style(.dim)) }
                    x = g.put(hint.0, x: x, y: fy, style: Style(.key, bold: true))
                    x = g.put(" " + hint.1, x: x, y: fy, style: Style(.footer))
                }
            }
        }
    }
}
