import ChatEngine
import Foundation

/// The context X-ray (F5): a turn's context by memory source, a diagram of the memory flow with this
/// turn's counts, then every request the turn made as sent (JSON), each input item tagged by source.
extension Views {
    /// The X-ray's lines for `turn` at `width` (the overlay scrolls them).
    public static func xrayLines(_ s: AppState, turn id: Int64, width: Int) -> [Line] {
        guard let t = s.xrayTurn(id) else { return [Line([Span("reading the turn…", Style(.dim))])] }
        var lines: [Line] = []
        func add(_ text: String, _ role: StyleRole = .text, bold: Bool = false) {
            lines += TextLayout.wrap([Span(text, Style(role, bold: bold))], width: width)
        }
        let parts = t.context ?? []
        // The memory flow, with this turn's counts per box.
        func n(_ source: ContextSource) -> String {
            guard let p = parts.first(where: { $0.source == source.rawValue }) else { return "–" }
            return p.items > 0 ? "\(p.items)" : "✓"
        }
        let updater = t.overhead.first { $0.kind == "updater" }.map { "updater: " + $0.note } ?? "updater: —"
        add("memory flow", .title, bold: true)
        add("  new message ─▶ router ─▶ [working \(n(.working))] [summary \(n(.summary))] [semantic \(n(.semantic))] [episodic \(n(.episodic))]"
            + (t.mode.isServerManaged ? " [server \(n(.server))]" : ""), .accent)
        add("  ─▶ assembled context ─▶ LLM ─▶ reply ─▶ \(updater)", .accent)
        lines.append(Line())
        // The parts, and totals that add up to the turn's numbers.
        add("context of the turn's requests", .title, bold: true)
        let header = "  " + "source".padding(toLength: 11, withPad: " ", startingAt: 0) + "items".leftPad(6) + "tokens".leftPad(9) + "bytes".leftPad(9)
        add(header, .dim)
        for p in parts {
            add("  " + p.source.padding(toLength: 11, withPad: " ", startingAt: 0) + "\(p.items)".leftPad(6) + "\(p.tokens)".leftPad(9) + "\(p.bytes)".leftPad(9))
        }
        let tokens = parts.reduce(0) { $0 + $1.tokens }, bytes = parts.reduce(0) { $0 + $1.bytes }
        add("  " + "total".padding(toLength: 11, withPad: " ", startingAt: 0) + "\(parts.reduce(0) { $0 + $1.items })".leftPad(6)
            + "\(tokens)".leftPad(9) + "\(bytes)".leftPad(9), .text, bold: true)
        if t.context == nil { add("  (this turn was recorded before the X-ray kept its parts)", .dim) }
        add("  billed: in \(t.inputTokens ?? 0) (\(t.cachedTokens ?? 0) cached) out \(t.outputTokens ?? 0) · request_bytes \(t.requestBytes) (every request of the turn)", .dim)
        for o in t.overhead {
            add("  overhead \(o.kind): \(o.request_bytes) B · in \(o.input_tokens ?? 0) out \(o.output_tokens ?? 0) · \(OutsideText.line(o.note))", .dim)
        }
        if !t.mode.isServerManaged, let observed = s.xray?.turnID == t.id ? s.xray?.observed : nil {
            add("  asked the server: \(observed)", .accent)
        }
        if t.mode.isServerManaged {
            // The inference is about the session's head: said so when this is an older turn.
            let head = s.turns.map(\.number).max() ?? t.number
            let at = head > t.number ? ", at the head (turn \(head))" : ""
            let inferred = s.memory?.serverItems.map { "the workbench infers \($0) item\($0 == 1 ? "" : "s") held now\(at)" }
            if let observed = s.xray?.turnID == t.id ? s.xray?.observed : nil {
                add((["  asked the server: \(OutsideText.line(observed))"] + [inferred].compactMap { $0 }).joined(separator: " · "), .accent)
            } else {
                add((["  a: ask the server what it holds (input_items / conversation items)"] + [inferred].compactMap { $0 }).joined(separator: " · "), .dim)
            }
        }
        lines.append(Line())
        // The requests as sent.
        guard let data = s.xray, data.turnID == t.id else {
            add("reading the requests…", .dim)
            return lines
        }
        if data.requests.isEmpty {
            add("the bodies of this turn are no longer kept (the newest \(WorkbenchStore.keptBodies) turns' are)", .dim)
        }
        for (i, r) in data.requests.enumerated() {
            add("request \(i + 1) of \(data.requests.count): \(r.kind.rawValue) · \(r.bytes) B", .title, bold: true)
            lines += requestLines(r, width: width)
            lines.append(Line())
        }
        return lines
    }

    /// A request body: its fields, then each input item on its own line under its source tag.
    static func requestLines(_ r: SentRequest, width: Int) -> [Line] {
        guard case .object(var fields)? = JSONValue.parse(r.body) else {
            return TextLayout.wrap([Span(OutsideText.line(r.body), .text)], width: width)
        }
        let input = fields.removeValue(forKey: "input")?.arrayValue ?? fields.removeValue(forKey: "items")?.arrayValue ?? []
        var lines: [Line] = []
        let envelope = (try? WireJSON.encodeString(JSONValue.object(fields))) ?? "{}"
        lines += TextLayout.wrap([Span(OutsideText.line(envelope), Style(.code))], width: width)
        for (i, item) in input.enumerated() {
            let tag = i < r.sources.count ? r.sources[i] : "?"
            let json = (try? WireJSON.encodeString(item)) ?? "{}"
            lines += TextLayout.wrap([Span("[\(tag)] ", Style(.accent, bold: true)), Span(OutsideText.line(json), .text)], width: width)
        }
        return lines
    }

    static func xray(_ g: inout Grid, _ s: AppState, turn: Int64, scroll: Int) {
        let width = max(20, g.width - 2)
        let t = s.xrayTurn(turn)
        let title = "Context X-ray · turn \(t?.number ?? 0) · \(t?.mode.title ?? "")"
        // The whole screen: the X-ray is read, not glanced at.
        let r = Rect(x: 0, y: 0, width: g.width, height: g.height)
        g.fill(x: 0, y: 0, width: g.width, height: g.height, style: .text)
        g.box(x: 0, y: 0, width: g.width, height: g.height, style: Style(.accent), title: title, titleStyle: Style(.title, bold: true))
        let lines = xrayLines(s, turn: turn, width: width - 2)
        let innerH = r.height - 3   // (DialogsUpdate pages by the same height: the screen's less 5)
        let first = min(max(0, scroll), max(0, lines.count - innerH))
        for (i, line) in lines.dropFirst(first).prefix(innerH).enumerated() {
            var x = r.x + 2
            for span in line.spans { x = g.put(span.text, x: x, y: r.y + 1 + i, style: span.style, maxX: r.x + r.width - 2) }
        }
        // The line count comes first and stays whole; the keys take the longest wording that fits.
        let count = lines.count > innerH ? "\(first + 1)–\(min(lines.count, first + innerH)) of \(lines.count) · " : ""
        let keys = ["◂ ▸ turn · Up/Down/PgUp/PgDn scroll · a ask the server · Esc close",
                    "◂ ▸ turn · ↑↓ PgUp/PgDn scroll · a ask the server · Esc close",
                    "◂ ▸ turn · ↑↓ PgUp/PgDn · a ask server · Esc close",
                    "◂ ▸ · ↑↓ · a ask · Esc"]
        let room = r.width - 4
        let footer = count + (keys.first { DisplayWidth.of(count + $0) <= room } ?? keys.last!)
        g.put(footer, x: r.x + 2, y: r.y + r.height - 2, style: Style(.dim), maxX: r.x + r.width - 2)
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
