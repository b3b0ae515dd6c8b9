/// The input line editor: text as grapheme clusters and a caret index. Multi-line (newlines are
/// characters); wide characters are single clusters, so the caret never lands inside one.
public struct InputEditor: Equatable, Sendable {
    public private(set) var chars: [Character] = []
    public private(set) var caret = 0
    /// The whole text is selected (a default offered to be typed over): the next insert replaces it;
    /// any other edit or move keeps the text, edits it as usual and ends the selection.
    public private(set) var selected = false

    public init(_ text: String = "", selected: Bool = false) {
        chars = Array(text)
        caret = chars.count
        self.selected = selected && !chars.isEmpty
    }

    public var text: String { String(chars) }
    public var isEmpty: Bool { chars.isEmpty }
    public var isMultiline: Bool { chars.contains("\n") }

    public mutating func insert(_ s: String) {
        // Controls other than newline and tab never enter the input (a paste of a terminal capture,
        // say); tabs stay, since pasted code is indented with them.
        let clean = s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .filter { $0 == "\n" || $0 == "\t" || !($0.unicodeScalars.first.map { $0.value < 0x20 || $0.value == 0x7F } ?? false) }
        if selected && !clean.isEmpty { chars = []; caret = 0; selected = false }
        chars.insert(contentsOf: clean, at: caret)
        caret += clean.count
    }

    public mutating func set(_ text: String) {
        selected = false
        chars = Array(text)
        caret = chars.count
    }

    public mutating func backspace() {
        selected = false
        guard caret > 0 else { return }
        chars.remove(at: caret - 1)
        caret -= 1
    }

    public mutating func deleteForward() {
        selected = false
        guard caret < chars.count else { return }
        chars.remove(at: caret)
    }

    public mutating func left() { selected = false; caret = max(0, caret - 1) }
    public mutating func right() { selected = false; caret = min(chars.count, caret + 1) }

    private var lineStart: Int {
        var i = caret
        while i > 0 && chars[i - 1] != "\n" { i -= 1 }
        return i
    }
    private var lineEnd: Int {
        var i = caret
        while i < chars.count && chars[i] != "\n" { i += 1 }
        return i
    }

    public mutating func home() { selected = false; caret = lineStart }
    public mutating func end() { selected = false; caret = lineEnd }

    public mutating func killToEnd() {
        selected = false
        let e = lineEnd
        if e == caret, caret < chars.count { chars.remove(at: caret) } else { chars.removeSubrange(caret..<e) }
    }

    public mutating func killToStart() {
        selected = false
        let s = lineStart
        chars.removeSubrange(s..<caret)
        caret = s
    }

    public mutating func deleteWordBack() {
        selected = false
        var i = caret
        while i > 0 && chars[i - 1].isWhitespace { i -= 1 }
        while i > 0 && !chars[i - 1].isWhitespace { i -= 1 }
        chars.removeSubrange(i..<caret)
        caret = i
    }

    /// Moves the caret to the previous/next line at the same column; false at the first/last line.
    public mutating func verticalMove(_ delta: Int) -> Bool {
        selected = false
        let start = lineStart
        let col = caret - start
        if delta < 0 {
            guard start > 0 else { return false }
            var prevStart = start - 1
            while prevStart > 0 && chars[prevStart - 1] != "\n" { prevStart -= 1 }
            caret = min(prevStart + col, start - 1)
        } else {
            let e = lineEnd
            guard e < chars.count else { return false }
            var nextEnd = e + 1
            while nextEnd < chars.count && chars[nextEnd] != "\n" { nextEnd += 1 }
            caret = min(e + 1 + col, nextEnd)
        }
        return true
    }

    /// Cells between tab stops when a tab is drawn.
    public static let tabWidth = 4

    /// Lays the input out in `width` cells (hard-wrapped by display width) and returns the lines and
    /// the caret's (column, row) in them. A tab is drawn as spaces up to the next tab stop.
    public func layout(width: Int) -> (lines: [String], caret: (x: Int, y: Int)) {
        let width = max(1, width)
        var lines: [String] = [""]
        var col = 0
        var caretPos = (x: 0, y: 0)
        for (i, ch) in chars.enumerated() {
            if i == caret { caretPos = (col, lines.count - 1) }
            if ch == "\n" {
                lines.append("")
                col = 0
                continue
            }
            var w = ch == "\t" ? Self.tabWidth - col % Self.tabWidth : DisplayWidth.of(ch)
            if col + w > width {
                lines.append("")
                col = 0
                if i == caret { caretPos = (0, lines.count - 1) }
                if ch == "\t" { w = min(Self.tabWidth, width) }
            }
            if ch == "\t" { lines[lines.count - 1] += String(repeating: " ", count: w) } else { lines[lines.count - 1].append(ch) }
            col += w
        }
        if caret == chars.count {
            if col >= width { lines.append(""); col = 0 }
            caretPos = (col, lines.count - 1)
        }
        return (lines, caretPos)
    }
}
