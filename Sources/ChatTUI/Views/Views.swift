import ChatEngine
import Foundation

public struct Rect: Equatable, Sendable {
    public var x, y, width, height: Int
}

/// Where each part of the main screen goes, for a screen size and input height.
public struct MainLayout: Sendable {
    public static let minWidth = 40
    public static let minHeight = 12
    public static let sidebarMinWidth = 72

    public let status: Rect
    public let conversation: Rect
    public let chain: Rect?
    public let memory: Rect?
    public let input: Rect
    public let footer: Rect
    /// The memory panel's rows (computed once per layout; empty without a sidebar).
    public let memoryRows: [(String, String, StyleRole)]

    public init(_ state: AppState) {
        let w = state.width, h = state.height
        let innerWidth = max(1, w - 2)
        let inputLines = state.input.layout(width: max(1, innerWidth - 2)).lines.count
        let inputH = min(max(3, inputLines + 2), max(3, h / 3))
        status = Rect(x: 0, y: 0, width: w, height: 1)
        footer = Rect(x: 0, y: h - 1, width: w, height: 1)
        input = Rect(x: 0, y: h - 1 - inputH, width: w, height: inputH)
        let bodyH = max(0, input.y - 1)
        if w >= Self.sidebarMinWidth {
            let sideW = max(30, min(44, w / 3))
            conversation = Rect(x: 0, y: 1, width: w - sideW, height: bodyH)
            memoryRows = Views.memoryRows(state)
            let memH = min(memoryRows.count + 2, max(5, bodyH - 6))
            chain = Rect(x: w - sideW, y: 1, width: sideW, height: bodyH - memH)
            memory = Rect(x: w - sideW, y: 1 + bodyH - memH, width: sideW, height: memH)
        } else {
            conversation = Rect(x: 0, y: 1, width: w, height: bodyH)
            chain = nil
            memory = nil
            memoryRows = []
        }
    }
}

/// Pure views: (state, size) → grid.
public enum Views {
    public static func render(_ state: AppState, layout cache: LayoutCache) -> Grid {
        var g = Grid(width: state.width, height: state.height)
        guard state.width >= MainLayout.minWidth, state.height >= MainLayout.minHeight else {
            tooSmall(&g)
            return g
        }
        if let browser = state.browser {
            renderBrowser(&g, state, browser, cache)
            if case .help = state.overlay { help(&g, scroll: state.helpScroll) }
            return g
        }
        if let compare = state.compare {
            renderCompare(&g, state, compare, cache)
            if case .modePicker(let selected) = state.overlay { picker(&g, state, selected) }
            if case .help = state.overlay { help(&g, scroll: state.helpScroll) }
            return g
        }
        let l = MainLayout(state)
        statusBar(&g, state, l.status)
        conversation(&g, state, l.conversation, cache, sidebar: l.memory != nil)
        if let chainRect = l.chain { chainPanel(&g, state, chainRect) }
        if let memRect = l.memory { memoryPanel(&g, l.memoryRows, memRect) }
        inputBox(&g, state, l.input)
        footer(&g, state, l.footer)
        switch state.overlay {
        case .none: break
        case .help: help(&g, scroll: state.helpScroll)
        case .modePicker(let selected): picker(&g, state, selected)
        case .newSession(let editor): newSession(&g, editor)
        case .forkPick: break   // drawn in the conversation pane and the footer
        }
        return g
    }

    static func tooSmall(_ g: inout Grid) {
        let msg = "terminal too small (need \(MainLayout.minWidth)×\(MainLayout.minHeight))"
        let lines = TextLayout.wrap([Span(msg, Style(.warning))], width: max(1, g.width))
        let top = max(0, (g.height - lines.count) / 2)
        for (i, line) in lines.enumerated() where top + i < g.height {
            g.put(line.text, x: max(0, (g.width - line.width) / 2), y: top + i, style: Style(.warning))
        }
    }

    static func statusBar(_ g: inout Grid, _ s: AppState, _ r: Rect) {
        let bar = Style(.status, reverse: true)
        g.fill(x: 0, y: r.y, width: r.width, height: 1, style: bar)
        let model = s.session?.model ?? s.backend.defaultModel
        func parts(compact: Bool) -> String {
            let backend = s.backend.isOffline
                ? (compact ? "offline model" : "offline backend · offline model (not an LLM)")
                : (compact ? "\(s.backend.name) · \(model)" : "\(s.backend.displayName) · model \(model)")
            var p = [compact ? " \((s.session?.mode ?? .chain).title)" : " chatbench · \((s.session?.mode ?? .chain).title)", backend]
            p.append(compact ? "\"\(s.session?.name ?? "…")\"" : "session \"\(s.session?.name ?? "…")\"")
            if s.session?.mode == .client { p.append(compact ? s.session?.policy ?? "all" : "policy \(s.session?.policy ?? "all")") }
            if s.session?.mode == .hybrid { p.append("profile \(s.session?.profile ?? "default")") }
            if s.streaming != nil { p.append(s.cancelling ? "cancelling…" : "streaming…") }
            return p.joined(separator: " · ")
        }
        let full = parts(compact: false)
        let text = DisplayWidth.of(full) + (s.lastError == nil ? 0 : 20) <= r.width ? full : parts(compact: true)
        var x = g.put(text, x: 0, y: r.y, style: Style(.status, bold: true, reverse: true))
        if let err = s.lastError {
            x = g.put(" · ", x: x, y: r.y, style: bar)
            g.put("✕ " + err, x: x, y: r.y, style: Style(.error, bold: true, reverse: true))
        }
    }

    static func conversation(_ g: inout Grid, _ s: AppState, _ r: Rect, _ cache: LayoutCache, sidebar: Bool) {
        let following = s.scroll == .follow
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.border),
              title: following ? "Conversation" : "Conversation · scrolled (End follows)", titleStyle: Style(.title, bold: true))
        let innerW = r.width - 2, innerH = r.height - 2
        guard innerW > 0, innerH > 0 else { return }
        let messages = s.displayMessages
        if messages.isEmpty {
            let hint = s.backend.isOffline
                ? "Say something about yourself (\"My name is Priya and I'm moving to Lisbon.\"), then ask about it. Tab switches how the memory is kept."
                : "Type a message and press Enter. Tab switches how the memory is kept."
            for (i, line) in TextLayout.wrap([Span(hint, Style(.dim))], width: innerW).enumerated() where i < innerH {
                g.put(line.text, x: r.x + 1, y: r.y + 1 + i, style: Style(.dim))
            }
            return
        }
        if !sidebar, let m = s.memory {
            // No sidebar on a narrow screen: the memory in one line on the bottom border.
            let server = m.mode == .client ? "server keeps nothing" : "server \(m.serverItems.map(String.init) ?? "0") items"
            let summary = " \(server) · sent \(bytes(m.last?.reply.requestBytes ?? 0)) · billed \(m.last?.reply.inputTokens ?? 0) tok "
            g.put(summary, x: r.x + 2, y: r.y + r.height - 1, style: Style(.dim), maxX: r.x + r.width - 1)
        }
        var picked: Int?
        if case .forkPick(let i) = s.overlay { picked = i }
        let rows = cache.visibleRows(messages, width: innerW, height: innerH, scroll: s.scroll)
        var marked = false
        for (i, row) in rows.enumerated() {
            var x = r.x + 1
            for (k, span) in row.line.spans.enumerated() {
                // The message chosen as the fork point: its label column reversed, "⑂" on its first row.
                if k == 0 && row.message == picked {
                    x = g.put(marked ? "     " : "⑂" + span.text.prefix(3) + " ", x: x, y: r.y + 1 + i, style: Style(.selection, bold: true, reverse: true), maxX: r.x + 1 + innerW)
                    marked = true
                    continue
                }
                x = g.put(span.text, x: x, y: r.y + 1 + i, style: span.style, maxX: r.x + 1 + innerW)
            }
        }
    }

    // MARK: Chain panel

    /// The chain panel's rows for the most recent turns (built from the newest back, only as many as fit).
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
            let line = Line([Span("⑂ forked as \(parts[0]) at \(point.isEmpty ? "?" : IDs.short(point))", Style(.accent))])
            let messageID = Int64(point.hasPrefix("m") ? String(point.dropFirst()) : point)
            let at = point.hasPrefix("resp_") || point.hasPrefix("chatcmpl") || messageID == nil
                ? turns.lastIndex { $0.responseID == point }
                : turns.lastIndex { ($0.replyMessageID ?? $0.userMessageID ?? .max) <= messageID! }
            if let at { forksAt[at, default: []].append(line) } else { unplaced.append(line) }
        }
        var i = turns.count - 1
        while i >= 0 && used < height {
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
            blocks.insert(block, at: 0)
            used += block.count
            i -= 1
        }
        var lines = blocks.flatMap { $0 } + unplaced
        // Lineage: where this session was forked from.
        if let from = s.memory?.forkedFrom {
            let parts = from.split(separator: "@", maxSplits: 1).map(String.init)
            lines.insert(Line([Span("⑂ fork of \(parts[0]) at \(parts.count > 1 ? IDs.short(parts[1]) : "?")", Style(.accent))]), at: 0)
        }
        if let conv = s.session?.conversationID, s.session?.mode == .conversation {
            let n = s.memory?.serverItems.map { " · \($0) items" } ?? ""
            lines.insert(Line([Span(IDs.short(conv, keep: 8) + n, Style(.accent, bold: true))]), at: 0)
        }
        return Array(lines.suffix(height)).map { clip($0, width) }
    }

    /// `text` in exactly `width` cells: padded, or cut with "…" (at the end, or in the middle with
    /// `keepEnd` so the end stays readable).
    public static func fit(_ text: String, _ width: Int, keepEnd: Bool = false) -> String {
        let w = DisplayWidth.of(text)
        if w <= width { return text + String(repeating: " ", count: width - w) }
        guard width > 1 else { return String(repeating: "…", count: max(0, width)) }
        if !keepEnd { return TextLayout.clip(text, to: width - 1) + "…" + String(repeating: " ", count: width - 1 - DisplayWidth.of(TextLayout.clip(text, to: width - 1))) }
        let tailW = (width - 1) / 2, headW = width - 1 - tailW
        let head = TextLayout.clip(text, to: headW)
        var tail = ""
        var used = 0
        for ch in text.reversed() {
            let cw = DisplayWidth.of(ch)
            if used + cw > tailW { break }
            tail.insert(ch, at: tail.startIndex)
            used += cw
        }
        let out = head + "…" + tail
        return out + String(repeating: " ", count: max(0, width - DisplayWidth.of(out)))
    }

    static func clip(_ line: Line, _ width: Int) -> Line {
        guard line.width > width else { return line }
        var out: [Span] = []
        var used = 0
        for span in line.spans {
            var t = ""
            for ch in span.text {
                let w = DisplayWidth.of(ch)
                if used + w > width - 1 { break }
                t.append(ch)
                used += w
            }
            if !t.isEmpty { out.append(Span(t, span.style)) }
            if used >= width - 1 { break }
        }
        out.append(Span("…", Style(.dim)))
        return Line(out)
    }

    static func chainPanel(_ g: inout Grid, _ s: AppState, _ r: Rect) {
        let title = s.session?.mode == .conversation ? "Conversation state" : (s.session?.mode == .client ? "Turns (no server state)" : "Response chain")
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

    // MARK: Memory panel

    /// Bytes in binary units (1 KB = 1024 B), one decimal, up to TB.
    public static func bytes(_ n: Int) -> String {
        if n < 1024 { return "\(n) B" }
        var value = Double(n) / 1024
        for unit in ["KB", "MB", "GB"] {
            if value < 1023.95 { return String(format: "%.1f \(unit)", value) }
            value /= 1024
        }
        return String(format: "%.1f TB", value)
    }

    /// (label, value) rows of the memory panel.
    public static func memoryRows(_ s: AppState) -> [(String, String, StyleRole)] {
        guard let m = s.memory else { return [("memory", "loading…", .dim)] }
        var rows: [(String, String, StyleRole)] = []
        switch m.mode {
        case .chain, .hybrid:
            rows.append(("server", m.serverItems.map { "\($0) items · \(m.serverTurns) turn\(m.serverTurns == 1 ? "" : "s")" } ?? "nothing yet", .text))
            if let head = m.chainHead { rows.append(("head", IDs.short(head, keep: 8), .chain)) }
        case .conversation:
            rows.append(("server", m.serverItems.map { "\($0) items · \(m.serverTurns) turn\(m.serverTurns == 1 ? "" : "s")" } ?? "nothing yet", .text))
            if let c = m.conversationID { rows.append(("conv", IDs.short(c, keep: 8), .chain)) }
        case .client:
            rows.append(("server", "nothing kept", .dim))
        }
        switch m.mode {
        case .client:
            rows.append(("client", "\(m.clientItems) items stored", .text))
            rows.append(("policy", m.policy, .accent))
            if let e = m.last?.policyEffect, m.last?.mode == .client {
                rows.append(("effect", "kept \(e.kept) drop \(e.dropped) summ \(e.summarized)", .text))
            }
        case .hybrid:
            rows.append(("client", "\(m.facts) facts · profile \(m.profile)", .text))
        default:
            rows.append(("client", "transcript, \(m.transcriptMessages) msgs", .dim))
        }
        if let t = m.last {
            let r = t.reply
            rows.append(("sent", "\(bytes(r.requestBytes)) · \(r.items) item\(r.items == 1 ? "" : "s")", .text))
            rows.append(("billed", "in \(r.inputTokens ?? 0) out \(r.outputTokens ?? 0) · \(r.cachedTokens ?? 0) cached", .text))
            if let x = t.policyEffect?.summary {
                rows.append(("summary", "\(bytes(x.requestBytes)) · in \(x.inputTokens ?? 0) out \(x.outputTokens ?? 0)", .text))
            }
        } else {
            rows.append(("sent", "—", .dim))
        }
        rows.append(("all sent", "\(bytes(m.totalBytes)) · \(m.turns) turn\(m.turns == 1 ? "" : "s")", .text))
        rows.append(("all billed", "in \(m.totalInputTokens) out \(m.totalOutputTokens)", .text))
        rows.append(("context", "\(m.contextTokens) tok now · \(m.spentTokens) spent", .accent))
        return rows
    }

    static func memoryPanel(_ g: inout Grid, _ rows: [(String, String, StyleRole)], _ r: Rect) {
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.border), title: "Memory", titleStyle: Style(.title, bold: true))
        let labelW = 11
        for (i, row) in rows.enumerated() where i < r.height - 2 {
            let y = r.y + 1 + i
            let x = g.put(row.0.padding(toLength: labelW, withPad: " ", startingAt: 0), x: r.x + 1, y: y, style: Style(.dim), maxX: r.x + r.width - 1)
            let value = clip(Line([Span(row.1, Style(row.2))]), r.width - 2 - labelW)
            var vx = x
            for span in value.spans { vx = g.put(span.text, x: vx, y: y, style: span.style, maxX: r.x + r.width - 1) }
        }
    }

    // MARK: Input and footer

    static func inputBox(_ g: inout Grid, _ s: AppState, _ r: Rect) {
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.border))
        let innerW = max(1, r.width - 4)
        let (lines, caret) = s.input.layout(width: innerW)
        let visible = r.height - 2
        let first = max(0, caret.y - visible + 1)
        g.put(">", x: r.x + 1, y: r.y + 1, style: Style(.accent, bold: true))
        for i in 0..<visible where first + i < lines.count {
            g.put(lines[first + i], x: r.x + 3, y: r.y + 1 + i, style: Style(.input), maxX: r.x + r.width - 1)
        }
        if case .none = s.overlay {
            g.cursor = (r.x + 3 + caret.x, r.y + 1 + caret.y - first)
        }
    }

    static func footer(_ g: inout Grid, _ s: AppState, _ r: Rect) {
        if case .forkPick(let i) = s.overlay, s.messages.indices.contains(i) {
            g.put(" fork at m\(s.messages[i].id) (keeps it and everything before) · Up/Down choose · Enter fork · Esc cancel",
                  x: 0, y: r.y, style: Style(.accent, bold: true))
            return
        }
        if let notice = s.notice {
            g.put(" " + notice, x: 0, y: r.y, style: Style(.warning))
            return
        }
        var x = 1
        for (i, hint) in KeyTable.footerHints(width: g.width).enumerated() {
            if i > 0 { x = g.put(" · ", x: x, y: r.y, style: Style(.dim)) }
            x = g.put(hint.0, x: x, y: r.y, style: Style(.key, bold: true))
            x = g.put(" " + hint.1, x: x, y: r.y, style: Style(.footer))
        }
    }

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

    /// The help: one row per key, wrapped under its label to the box (never cut); the box is as wide
    /// as the longest row allows on this screen, and scrolls (Up/Down) when it is taller.
    static func help(_ g: inout Grid, scroll: Int) {
        let labelW = 9
        let rows = helpRows()
        let modes = "Modes: chain sends previous_response_id · conversation sends a conversation id · client resends the history · hybrid chains and resends long-term facts. Esc closes."
        let widest = max(rows.map { labelW + DisplayWidth.of($0.1) }.max() ?? 0, 60)
        let contentW = max(10, min(widest, g.width - 6))
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
        let r = centered(&g, width: contentW + 4, height: lines.count + 2, title: "Help · keys")
        let innerH = r.height - 2
        let fits = lines.count <= innerH
        let shownH = fits ? innerH : innerH - 1
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
            let current = !inCompare && c.isCurrent(mode: s.session?.mode, policy: s.session?.policy)
            let style = i == selected ? Style(.selection, bold: true, reverse: true) : .text
            var label = c.label
            if let kind = c.policyKind, kind != "all" {
                label += "\(s.policyNumbers[kind])" + (kind == "budget" ? " tokens" : "")
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
        g.put(lines.last ?? "", x: r.x + 8, y: r.y + 1, style: Style(.input, underline: true), maxX: r.x + r.width - 2)
        g.put("Enter create · Esc cancel", x: r.x + 2, y: r.y + 3, style: Style(.dim))
        g.cursor = (r.x + 8 + caret.x, r.y + 1)
    }
}
