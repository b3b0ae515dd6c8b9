import Foundation
import ChatEngine

/// A message as the conversation pane shows it. `revision` counts the deltas of a streaming reply.
public struct ChatMessage: Hashable, Sendable {
    public var id: Int64
    public var role: Role
    public var text: String
    public var status: Status
    public var revision: Int
    public var note: String?

    /// A stored message's status, or one of the two states only the screen has: the user's message
    /// waiting for its turn (`pending`) and the reply in flight (`streaming`).
    public enum Status: Hashable, Sendable {
        case complete, interrupted, failed, pending, streaming

        public init(_ stored: MessageStatus) {
            switch stored {
            case .complete: self = .complete
            case .interrupted: self = .interrupted
            case .failed: self = .failed
            }
        }
    }

    public init(id: Int64, role: Role, text: String, status: Status = .complete, revision: Int = 0, note: String? = nil) {
        self.id = id
        self.role = role
        self.text = text
        self.status = status
        self.revision = revision
        self.note = note
    }
}

/// Where the conversation pane looks: following the newest line, or anchored at a line of a message.
public enum Scroll: Equatable, Sendable {
    case follow
    case anchored(message: Int, line: Int)
}

/// Lays out messages for the conversation pane, cached per (message, width). The key is the whole
/// message (text, status, note), not its id: the pending message and the reply in flight have
/// placeholder ids that every turn reuses, so an id-keyed cache would show an earlier turn's text.
/// Only the messages on screen are ever laid out: following the bottom walks back from the newest message
/// until the pane is full, so a 100,000-message session costs what a 10-message one does.
public final class LayoutCache: @unchecked Sendable {
    struct Key: Hashable {
        let message: ChatMessage
        let width: Int
    }
    private var entries: [Key: [Line]] = [:]
    public private(set) var layouts = 0   // how many message layouts were computed (for tests and bench)
    public static let labelWidth = 5
    static let indent = Span("     ", Style(.text))
    private let capacity = 4096

    public init() {}

    /// The rows of one message: a label column ("you ", "bot "), the wrapped Markdown, a status note,
    /// and a blank separator row.
    public func lines(for m: ChatMessage, width: Int) -> [Line] {
        if m.status == .streaming { return streamingLines(m, width: width) }
        let key = Key(message: m, width: width)
        if let cached = entries[key] { return cached }
        layouts += 1
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        let textWidth = max(1, width - Self.labelWidth)
        let body = TextLayout.markdown(m.text, width: textWidth, base: Style(.text))
        var out = Self.labelled(body, m, first: true)
        let isUser = m.role == .user
        let pad = Self.indent.text
        switch (m.status, isUser) {
        case (.interrupted, false):
            out += TextLayout.wrap([Span("⚠ interrupted" + (m.note.map { ": \($0)" } ?? ""), Style(.warning))], width: textWidth, firstIndent: [Span(pad, .text)], indent: Self.labelWidth)
        case (.failed, true):
            out += TextLayout.wrap([Span("✕ not answered" + (m.note.map { ": \($0)" } ?? ""), Style(.error))], width: textWidth, firstIndent: [Span(pad, .text)], indent: Self.labelWidth)
        default:
            break
        }
        out.append(Line())
        entries[key] = out
        return out
    }

    /// Body rows with the label column: the role label on the first row, an indent on the others.
    static func labelled(_ body: [Line], _ m: ChatMessage, first: Bool) -> [Line] {
        let isUser = m.role == .user
        let base = Style(isUser ? .user : .assistant)
        let label = isUser ? "you  " : (m.role == .assistant ? "bot  " : String(m.role.rawValue.prefix(4)).padding(toLength: labelWidth, withPad: " ", startingAt: 0))
        var out: [Line] = []
        out.reserveCapacity(body.count + 2)
        for (i, line) in body.enumerated() {
            var spans = [i == 0 && first ? Span(label, base.bolded) : Self.indent]
            spans.append(contentsOf: line.spans)
            out.append(Line(spans, width: line.width + Self.labelWidth))
        }
        return out
    }

    /// A reply while it streams: the lines already complete (up to its last newline) are laid out once
    /// and kept; each delta lays out only the open line after them. So a delta at the end of a 100 KB
    /// reply costs what one at the end of a short one does.
    struct Streaming {
        var id: Int64
        var width: Int
        /// The text laid out so far (through its last newline) and its rows, labelled.
        var committed: String
        var rows: [Line]
        var characters: Int
        var inCode: Bool
    }
    private var streaming: Streaming?
    /// Source lines laid out for streaming replies (tests: per line, not per frame).
    public private(set) var streamedLineLayouts = 0

    func streamingLines(_ m: ChatMessage, width: Int) -> [Line] {
        let textWidth = max(1, width - Self.labelWidth)
        let cap = TextLayout.maxCharactersPerMessage
        var st = streaming.flatMap { $0.id == m.id && $0.width == width && Self.hasPrefix(m.text, $0.committed) ? $0 : nil }
            ?? Streaming(id: m.id, width: width, committed: "", rows: [], characters: 0, inCode: false)
        let utf8 = m.text.utf8
        let newStart = utf8.index(utf8.startIndex, offsetBy: st.committed.utf8.count)
        var rest = m.text[newStart...]
        // Commit every newly complete line, once.
        if let lastNewline = rest.lastIndex(of: "\n") {
            for source in rest[..<lastNewline].split(separator: "\n", omittingEmptySubsequences: false) {
                // `<=`: a line that starts exactly at the cap shows as the empty line the finished
                // layout has there (its text is cut after the newline before it).
                if st.characters <= cap {
                    let kept = source.prefix(cap - st.characters)
                    streamedLineLayouts += 1
                    st.rows += Self.labelled(TextLayout.markdownLine(kept, width: textWidth, base: Style(.text), inCode: &st.inCode), m, first: st.rows.isEmpty)
                }
                st.characters += source.count + 1
            }
            st.committed = String(m.text[..<rest.index(after: lastNewline)])
            rest = m.text[rest.index(after: lastNewline)...]
        }
        streaming = st
        // The open line, laid out anew each delta, with the cursor at its end.
        var inCode = st.inCode
        var open: [Line] = []
        var omitted = 0
        if st.characters <= cap {
            let kept = rest.prefix(cap - st.characters)
            open = TextLayout.markdownLine(kept, width: textWidth, base: Style(.text), inCode: &inCode)
            if kept.endIndex < rest.endIndex { omitted = rest[kept.endIndex...].count }
        } else {
            omitted = st.characters - cap + rest.count
        }
        if omitted > 0 { open.append(Line([Span("… \(omitted) more characters not shown", Style(.dim))])) }
        if open.isEmpty { open = [Line()] }
        var last = open.removeLast()
        if last.width < textWidth { last.spans.append(Span("▍", Style(.accent))) } else { open.append(last); last = Line([Span("▍", Style(.accent))]) }
        open.append(last)
        return st.rows + Self.labelled(open, m, first: st.rows.isEmpty) + [Line()]
    }

    /// Whether `text` starts with `prefix`, comparing bytes (fast: both are contiguous UTF-8).
    static func hasPrefix(_ text: String, _ prefix: String) -> Bool {
        var t = text, p = prefix
        guard p.utf8.count <= t.utf8.count else { return false }
        return t.withUTF8 { tb in p.withUTF8 { pb in pb.count == 0 || memcmp(tb.baseAddress!, pb.baseAddress!, pb.count) == 0 } }
    }

    /// The rows visible in a pane of `height`, for the scroll position.
    public func visible(_ messages: [ChatMessage], width: Int, height: Int, scroll: Scroll) -> [Line] {
        visibleRows(messages, width: width, height: height, scroll: scroll).map(\.line)
    }

    /// The indices of the messages with a row on screen.
    public func visibleMessages(_ messages: [ChatMessage], width: Int, height: Int, scroll: Scroll) -> Set<Int> {
        Set(visibleRows(messages, width: width, height: height, scroll: scroll).map(\.message))
    }

    /// The visible rows, each with the index of the message it belongs to.
    public func visibleRows(_ messages: [ChatMessage], width: Int, height: Int, scroll: Scroll) -> [(line: Line, message: Int)] {
        guard height > 0, !messages.isEmpty else { return [] }
        switch scroll {
        case .follow:
            var rows: [(line: Line, message: Int)] = []
            var i = messages.count - 1
            while i >= 0 && rows.count < height {
                rows.insert(contentsOf: lines(for: messages[i], width: width).map { ($0, i) }, at: 0)
                i -= 1
            }
            return Array(rows.suffix(height))
        case .anchored(let message, let line):
            var rows: [(line: Line, message: Int)] = []
            var i = min(max(0, message), messages.count - 1)
            var skip = max(0, line)
            while i < messages.count && rows.count < height {
                let ls = lines(for: messages[i], width: width)
                rows += ls.dropFirst(min(skip, ls.count)).map { ($0, i) }
                skip = 0
                i += 1
            }
            return Array(rows.prefix(height))
        }
    }

    /// The top anchor of the pane when it follows the bottom.
    public func topAnchor(_ messages: [ChatMessage], width: Int, height: Int) -> (message: Int, line: Int) {
        var remaining = height
        var i = messages.count - 1
        while i >= 0 {
            let n = lines(for: messages[i], width: width).count
            if n >= remaining { return (i, n - remaining) }
            remaining -= n
            i -= 1
        }
        return (0, 0)
    }

    /// Moves a scroll position by `delta` rows (negative: up). Returns `.follow` once the bottom is
    /// on screen again.
    public func move(_ scroll: Scroll, by delta: Int, _ messages: [ChatMessage], width: Int, height: Int) -> Scroll {
        guard !messages.isEmpty else { return .follow }
        var (m, l): (Int, Int)
        switch scroll {
        case .follow:
            if delta >= 0 { return .follow }
            (m, l) = topAnchor(messages, width: width, height: height)
        case .anchored(let am, let al):
            (m, l) = (min(am, messages.count - 1), al)
        }
        if delta < 0 {
            var up = -delta
            while up > 0 {
                if l >= up { l -= up; up = 0 }
                else if m == 0 { l = 0; up = 0 }
                else { up -= l + 1; m -= 1; l = lines(for: messages[m], width: width).count - 1 }
            }
            return .anchored(message: m, line: l)
        }
        var down = delta
        while down > 0 {
            let n = lines(for: messages[m], width: width).count
            if l + down < n { l += down; down = 0 }
            else if m == messages.count - 1 { l = n - 1; down = 0 }
            else { down -= n - l; m += 1; l = 0 }
        }
        // At or past the point where the last row would show: follow again.
        let bottomTop = topAnchor(messages, width: width, height: height)
        if (m, l) >= (bottomTop.message, bottomTop.line) { return .follow }
        return .anchored(message: m, line: l)
    }
}
