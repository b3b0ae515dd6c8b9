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
        case .xray(let turn, let scroll): xray(&g, state, turn: turn, scroll: scroll)
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

    /// The status line's text: long (" chatbench · MODE · offline backend · …") or short.
    static func statusText(_ s: AppState, compact: Bool) -> String {
        let model = s.session?.model ?? s.backend.defaultModel
        let backend = s.backend.isOffline
            ? (compact ? "offline model" : "offline backend · offline model (not an LLM)")
            : (compact ? "\(s.backend.name) · \(model)" : "\(s.backend.displayName) · model \(model)")
        var p = [compact ? " \((s.session?.mode ?? .chain).title)" : " chatbench · \((s.session?.mode ?? .chain).title)", backend]
        // A name is shown with its control characters escaped (as the CLI does): "a\x0ab", never "ab".
        let name = s.session.map { OutsideText.line($0.name) } ?? "…"
        p.append(compact ? "\"\(name)\"" : "session \"\(name)\"")
        if s.session?.mode == .client { p.append(compact ? s.session?.policy ?? "all" : "policy \(s.session?.policy ?? "all")") }
        if s.session?.mode == .hybrid { p.append("profile \(s.session?.profile ?? "default")") }
        if s.streaming != nil { p.append(s.cancelling ? "cancelling…" : "streaming…") }
        return p.joined(separator: " · ")
    }

    /// How many cells the status line's error takes (" · ✕ " and the error).
    static func errorWidth(_ s: AppState) -> Int { s.lastError.map { 5 + DisplayWidth.of(OutsideText.line($0)) } ?? 0 }

    /// The error does not fit on the status line even beside its short text: the footer says it.
    static func errorIsCut(_ s: AppState, width: Int) -> Bool {
        s.lastError != nil && DisplayWidth.of(statusText(s, compact: true)) + errorWidth(s) > width
    }

    static func statusBar(_ g: inout Grid, _ s: AppState, _ r: Rect) {
        let bar = Style(.status, reverse: true)
        g.fill(x: 0, y: r.y, width: r.width, height: 1, style: bar)
        // With an error, the short status whenever the long one would cut the error.
        let full = statusText(s, compact: false)
        let text = DisplayWidth.of(full) + errorWidth(s) <= r.width ? full : statusText(s, compact: true)
        var x = g.put(text, x: 0, y: r.y, style: Style(.status, bold: true, reverse: true))
        if let err = s.lastError {
            x = g.put(" · ", x: x, y: r.y, style: bar)
            g.put("✕ " + OutsideText.line(err), x: x, y: r.y, style: Style(.error, bold: true, reverse: true))
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
        // An error too long for the status line is said whole here first, then a notice if one is up.
        if let err = s.lastError, errorIsCut(s, width: g.width) {
            let x = g.put(" ✕ " + OutsideText.line(err), x: 0, y: r.y, style: Style(.error, bold: true))
            if let notice = s.notice { g.put(" · " + OutsideText.line(notice), x: x, y: r.y, style: Style(.warning)) }
            return
        }
        if let notice = s.notice {
            g.put(" " + OutsideText.line(notice), x: 0, y: r.y, style: Style(.warning))   // it may quote a name
            return
        }
        var x = 1
        for (i, hint) in KeyTable.footerHints(width: g.width).enumerated() {
            if i > 0 { x = g.put(" · ", x: x, y: r.y, style: Style(.dim)) }
            x = g.put(hint.0, x: x, y: r.y, style: Style(.key, bold: true))
            x = g.put(" " + hint.1, x: x, y: r.y, style: Style(.footer))
        }
    }
}
