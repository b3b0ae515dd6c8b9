import ChatEngine
import Foundation

extension Views {
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
        // What the server holds: its items (after a compaction: the compaction item and what follows).
        let held = m.serverItems.map { n in
            m.compactedAtTurn == nil ? "\(n) items · \(m.serverTurns) turn\(m.serverTurns == 1 ? "" : "s")" : "compaction + \(n - 1) items"
        } ?? "nothing yet"
        switch m.mode {
        case .chain, .hybrid:
            rows.append(("server", held, .text))
            if let head = m.chainHead { rows.append(("head", IDs.short(head, keep: 8), .chain)) }
        case .conversation:
            rows.append(("server", held, .text))
            if let c = m.conversationID { rows.append(("conv", IDs.short(c, keep: 8), .chain)) }
        case .client, .layered:
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
            rows.append(("client", "\(m.facts) fact\(m.facts == 1 ? "" : "s") · profile \(m.profile)", .text))
            rows.append(("srv policy", serverPolicyRow(m), .accent))
        case .layered:
            rows.append(("client", "\(m.facts) fact\(m.facts == 1 ? "" : "s") · profile \(m.profile)", .text))
            rows.append(("layers", layersRow(m.last), .accent))
        default:
            rows.append(("client", "transcript, \(m.transcriptMessages) msgs", .dim))
            rows.append(("srv policy", serverPolicyRow(m), .accent))
        }
        if let t = m.last {
            let r = t.reply
            rows.append(("sent", "\(bytes(r.requestBytes)) · \(r.items) item\(r.items == 1 ? "" : "s")", .text))
            rows.append(("billed", "in \(r.inputTokens ?? 0) out \(r.outputTokens ?? 0) · \(r.cachedTokens ?? 0) cached", .text))
            let o = t.overheadTotals
            if !t.overhead.isEmpty {
                rows.append(("overhead", "\(bytes(o.bytes)) · in \(o.input) out \(o.output) · \(t.overhead.count) req", .text))
            }
            // The turn's every request is billed: the reply's and the overhead's.
            if let p = s.pricing {
                let e = p.estimate(model: t.model, inputTokens: (t.inputTokens ?? 0).saturatingAdd(o.input),
                                   cachedTokens: (t.cachedTokens ?? 0).saturatingAdd(o.cached), outputTokens: (t.outputTokens ?? 0).saturatingAdd(o.output))
                rows.append(("cost", e.dollars == nil ? "no price" : e.short + " est.", e.dollars == nil ? .dim : .text))
            }
        } else {
            rows.append(("sent", "—", .dim))
        }
        rows.append(("all sent", "\(bytes(m.totalBytes)) · \(m.turns) turn\(m.turns == 1 ? "" : "s")", .text))
        rows.append(("all billed", "in \(m.totalInputTokens) out \(m.totalOutputTokens)", .text))
        // The session's running totals priced as one model (its own, or --price-as): no turn is walked.
        if let p = s.pricing {
            let model = s.session?.model ?? m.last?.model ?? ""
            let e = p.estimate(model: model, inputTokens: m.totalInputTokens.saturatingAdd(m.overheadInputTokens),
                               cachedTokens: m.totalCachedTokens.saturatingAdd(m.overheadCachedTokens),
                               outputTokens: m.totalOutputTokens.saturatingAdd(m.overheadOutputTokens))
            if let d = e.dollars, let name = e.priceModel {
                rows.append(("all cost", "≈\(CostEstimate.format(d)) est.", .accent))
                rows.append(("priced as", "\(OutsideText.line(name)), \(e.taken ?? "?")", .dim))
            } else {
                rows.append(("all cost", "no price for \(OutsideText.line(e.model))", .dim))
            }
        }
        rows.append(("cache hits", "\(Int((m.cacheHitRate * 100).rounded()))% of input · \(m.totalCachedTokens) tok", m.totalCachedTokens > 0 ? .text : .dim))
        rows.append(("context", "\(m.contextTokens) tok now · \(m.spentTokens) spent", .accent))
        return rows
    }

    /// The server policy, and the turn of the last compaction (the chain panel marks each event).
    static func serverPolicyRow(_ m: MemoryState) -> String {
        m.serverPolicy + (m.compactedAtTurn.map { " · cmp t\($0)" } ?? "")
    }

    /// Layered memory's last turn in one row: working items, summary, facts, episodes, and what the
    /// updater wrote ("w6 s1 f3 e2 → +1 fact").
    static func layersRow(_ t: TurnRecord?) -> String {
        guard let t, t.mode == .layered, let parts = t.context else { return "—" }
        func n(_ s: ContextSource) -> Int { parts.first { $0.source == s.rawValue }?.items ?? 0 }
        let facts = parts.first { $0.source == ContextSource.semantic.rawValue } != nil
        let wrote = t.overhead.first { $0.kind == "updater" }?.facts ?? 0
        let written = wrote > 0 ? " → +\(wrote) fact\(wrote == 1 ? "" : "s")" : ""
        return "w\(n(.working)) s\(n(.summary)) f\(facts ? "✓" : "0") e\(n(.episodic))" + written
    }

    /// The rows that go first when the panel is short (a 24-line terminal), least useful first: what a
    /// turn cost and how full the context is stay longest. Labels not listed are kept.
    static let memoryRowsDroppedFirst = ["priced as", "all sent", "head", "conv", "all billed", "sent", "overhead",
                                         "effect", "billed", "srv policy", "client", "policy", "cache hits", "all cost"]

    /// The rows that fit in `capacity` lines, in their order, and how many were left out.
    static func fitMemoryRows(_ rows: [(String, String, StyleRole)], capacity: Int) -> (rows: [(String, String, StyleRole)], hidden: Int) {
        guard rows.count > capacity else { return (rows, 0) }
        var dropped = Set<String>()
        for label in memoryRowsDroppedFirst where rows.count - dropped.count > capacity && rows.contains(where: { $0.0 == label }) {
            dropped.insert(label)
        }
        let kept = rows.filter { !dropped.contains($0.0) }.prefix(max(0, capacity))
        return (Array(kept), rows.count - kept.count)
    }

    static func memoryPanel(_ g: inout Grid, _ all: [(String, String, StyleRole)], _ r: Rect) {
        let (rows, hidden) = fitMemoryRows(all, capacity: r.height - 2)
        // Rows left out on a short screen are counted in the title, so nothing disappears unsaid.
        let title = hidden > 0 ? "Memory · \(hidden) hidden" : "Memory"
        g.box(x: r.x, y: r.y, width: r.width, height: r.height, style: Style(.border), title: title, titleStyle: Style(.title, bold: true))
        let labelW = 11
        for (i, row) in rows.enumerated() {
            let y = r.y + 1 + i
            let x = g.put(row.0.padding(toLength: labelW, withPad: " ", startingAt: 0), x: r.x + 1, y: y, style: Style(.dim), maxX: r.x + r.width - 1)
            let value = clip(Line([Span(row.1, Style(row.2))]), r.width - 2 - labelW)
            var vx = x
            for span in value.spans { vx = g.put(span.text, x: vx, y: y, style: span.style, maxX: r.x + r.width - 1) }
        }
    }
}
