import ChatEngine
import Foundation

extension Views {
    // MARK: Chain panel

    /// The chain panel's rows for the most recent turns (built from the newest back, only as many as fit).
    /// A turn's lines stay together: the top row is always a turn's own "● t1" row, never the middle of
    /// a turn whose start was cut off (only a newest turn taller than the panel is cut, at its end).
    public static func chainLines(_ s: AppState, width: Int, height: Int) -> [Line] {
        var blocks: [[Line]] = []
        var used = 0
        let turns = s.turns
        // Each fork ("NAME@POINT") is marked under the turn it was made at; a point before the turns
        // on hand goes at the end.
        var forksAt: [Int: [Line]] = [:]
        var unplaced: [Line] = []
        for fork in s.memory?.forks ?? [] {
            let parts = fork.split(separator: "@", maxSplits: 1).map(String.init)
            let point = parts.count > 1 ? parts[1] : ""
            let line = Line([Span("⑂ forked as \(OutsideText.line(parts[0])) at \(point.isEmpty ? "?" : IDs.short(point))", Style(.accent))])
            let messageID = Int64(point.hasPrefix("m") ? String(point.dropFirst()) : point)
            let at = point.hasPrefix("resp_") || point.hasPrefix("chatcmpl") || messageID == nil
                ? turns.lastIndex { $0.responseID == point }
                : turns.lastIndex { ($0.replyMessageID ?? $0.userMessageID ?? .max) <= messageID! }
            if let at { forksAt[at, default: []].append(line) } else { unplaced.append(line) }
        }
        let room = height - unplaced.count   // the forks made before the turns on hand stay at the end
        var i = turns.count - 1
        while i >= 0 && used < room {
            let t = turns[i]
            var block: [Line] = []
            let ok = t.status == .completed
            let marker = ok ? "●" : (t.status == .interrupted ? "◌" : "✕")
            let id = t.responseID.map { IDs.short($0) } ?? t.status.rawValue
            let tokens = t.inputTokens.map { "in \($0) out \(t.outputTokens ?? 0)" } ?? ""
            block.append(Line([Span("\(marker) ", Style(ok ? .chain : .error, bold: true)), Span(id, Style(.chain)),
                               Span(" t\(t.number) ", Style(.dim)), Span(tokens, Style(.text))]))
            let previousMode = i > 0 ? turns[i - 1].mode : nil
            switch t.chainEvent {
            case .repair:
                let what = t.errorCode == "previous_response_not_found" ? "chain broken: response not found" : "server lost it: \(t.errorCode ?? "gone")"
                block.append(Line([Span("  ✂ \(what)", Style(.error))]))
                block.append(Line([Span("  ⟲ repaired: replayed \(t.inputItems) items", Style(.warning))]))
            case .switch:
                let from = previousMode.map { " (was \($0.rawValue))" } ?? ""
                block.append(Line([Span("  ⇄ switched to \(t.mode.rawValue)\(from)", Style(.accent))]))
            case .start:
                block.append(Line([Span("  ◆ new \(t.mode == .conversation ? "conversation" : t.mode == .client ? "client history" : "chain")", Style(.dim))]))
            default:
                break
            }
            switch t.serverEvent {
            case .compacted:
                block.append(Line([Span("  ▣ server compacted (in \(t.inputTokens ?? 0) tok)", Style(.accent))]))
            case .truncated:
                block.append(Line([Span("  ✂ server truncated (inferred)", Style(.warning))]))
            case nil:
                break
            }
            if let prev = t.previousResponseID, t.chainEvent != .repair {
                block.append(Line([Span("  ↳ from \(IDs.short(prev))", Style(.dim))]))
            } else if t.mode == .client, let p = t.policyEffect {
                block.append(Line([Span("  sent \(t.inputItems) item\(t.inputItems == 1 ? "" : "s") · \(p.policy)", Style(.dim))]))
            } else if t.mode == .conversation, let c = t.conversationID, t.chainEvent != .continue {
                block.append(Line([Span("  ↳ on \(IDs.short(c))", Style(.dim))]))
            }
            if !ok {
                let why = t.status == .interrupted ? "not part of the memory" : (t.errorCode ?? "error")
                block.append(Line([Span("  \(why)", Style(t.status == .interrupted ? .warning : .error))]))
            }
            block += forksAt[i] ?? []
            if !blocks.isEmpty && used + block.count > room { break }
            blocks.insert(Array(block.prefix(max(1, room))), at: 0)
            used += block.count
            i -= 1
        }
        var lines = blocks.flatMap { $0 } + unplaced
        // Lineage: where this session was forked from.
        if let from = s.memory?.forkedFrom {
            let parts = from.split(separator: "@", maxSplits: 1).map(String.init)
            lines.insert(Line([Span("⑂ fork of \(OutsideText.line(parts[0])) at \(parts.count > 1 ? IDs.short(parts[1]) : "?")", Style(.accent))]), at: 0)
        }
        if let conv = s.session?.conversationID, s.session?.mode == .conversation {
            let n = s.memory?.serverItems.map { " · \($0) items" } ?? ""
            lines.insert(Line([Span(IDs.short(conv, keep: 8) + n, Style(.accent, bold: true))]), at: 0)
        }
        return Array(lines.suffix(height)).map { clip($0, width) }
    }

    static func chainPanel(_ g: inout Grid, _ s: AppState, _ r: Rect) {
        let title = s.session?.mode == .conversation ? "Conversation state"
            : (s.session?.mode == .client || s.session?.mode == .layered ? "Turns (no server state)" : "Response chain")
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.border), title: title, titleStyle: Style(.title, bold: true))
        let lines = chainLines(s, width: r.width - 2, height: r.height - 2)
        if lines.isEmpty {
            g.put("no turns yet", x: r.x + 1, y: r.y + 1, style: Style(.dim), maxX: r.x + r.width - 1)
        }
        for (i, line) in lines.enumerated() {
            var x = r.x + 1
            for span in line.spans { x = g.put(span.text, x: x, y: r.y + 1 + i, style: span.style, maxX: r.x + r.width - 1) }
        }
    }
}
