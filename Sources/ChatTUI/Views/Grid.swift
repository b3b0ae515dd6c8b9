import Foundation

/// A style role: what a cell means. Themes map roles to colours; the view never names colours.
public enum StyleRole: String, CaseIterable, Sendable, Codable {
    case text, dim, accent, user, assistant, border, title, selection, error, success, warning, chain, code, input, status, footer, key
}

/// A role plus attributes.
public struct Style: Equatable, Hashable, Sendable {
    public var role: StyleRole
    public var bold = false
    public var reverse = false
    public var underline = false
    public var italic = false

    public init(_ role: StyleRole, bold: Bool = false, reverse: Bool = false, underline: Bool = false, italic: Bool = false) {
        self.role = role
        self.bold = bold
        self.reverse = reverse
        self.underline = underline
        self.italic = italic
    }

    public static let text = Style(.text)
    public var bolded: Style { var s = self; s.bold = true; return s }
}

/// One terminal cell: a grapheme cluster and its style. A wide cluster occupies its cell and the
/// next, which holds `continuation` (an empty string) so rows keep one entry per column.
public struct Cell: Equatable, Sendable {
    public var text: String
    public var style: Style
    public static let blank = Cell(text: " ", style: .text)
    public static let continuation = Cell(text: "", style: .text)
    public var isContinuation: Bool { text.isEmpty }
}

/// An in-memory screen: views draw into it, the curses adapter flushes it, tests read it as text.
public struct Grid: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Where the real cursor should sit (the input caret), if anywhere.
    public var cursor: (x: Int, y: Int)?

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public static func == (a: Grid, b: Grid) -> Bool {
        a.width == b.width && a.height == b.height && a.cells == b.cells && a.cursor?.x == b.cursor?.x && a.cursor?.y == b.cursor?.y
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Writes `text` at (x, y), clipped at `maxX` (exclusive, default the grid's width). A wide
    /// cluster that would straddle the edge is replaced by a space. Returns the column after the text.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style, maxX: Int? = nil) -> Int {
        guard y >= 0, y < height else { return x }
        let limit = min(maxX ?? width, width)
        var col = x
        // A zero-width character (control or stray combining mark) joins nothing and is skipped; a
        // cluster of several spacing characters takes one cell group per piece, as ncurses draws it.
        for ch in text {
            let pieces = DisplayWidth.pieces(ch)
            for (drawn, w) in pieces where w > 0 {
                // The joiners between pieces are left out: a terminal that joins ZWJ sequences (tmux
                // does) would draw them in fewer cells than ncurses counted and shift the row.
                let piece = pieces.count > 1 ? String(String.UnicodeScalarView(drawn.unicodeScalars.filter { $0.value != 0x200D })) : drawn
                if col >= limit { return col }
                if col < 0 { col += w; continue }
                if col + w > limit {
                    self[col, y] = Cell(text: " ", style: style)
                    return col + 1
                }
                clearWide(at: col, y)
                self[col, y] = Cell(text: piece, style: style)
                if w == 2 {
                    clearWide(at: col + 1, y)
                    self[col + 1, y] = Cell(text: "", style: style)
                }
                col += w
            }
        }
        return col
    }

    /// Overwriting half of a wide character blanks its other half.
    private mutating func clearWide(at x: Int, _ y: Int) {
        guard x >= 0, x < width else { return }
        if self[x, y].isContinuation, x > 0 { self[x - 1, y] = Cell(text: " ", style: self[x - 1, y].style) }
        if x + 1 < width, self[x + 1, y].isContinuation, !self[x, y].isContinuation, DisplayWidth.of(self[x, y].text) == 2 {
            self[x + 1, y] = Cell(text: " ", style: self[x + 1, y].style)
        }
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, style: Style, char: String = " ") {
        for row in max(0, y)..<min(height, y + h) {
            for col in max(0, x)..<min(width, x + w) { self[col, row] = Cell(text: char, style: style) }
        }
    }

    /// A box-drawing frame with an optional title in the top edge.
    public mutating func box(x: Int, y: Int, width w: Int, height h: Int, style: Style, title: String? = nil, titleStyle: Style? = nil) {
        guard w >= 2, h >= 2 else { return }
        put("┌" + String(repeating: "─", count: w - 2) + "┐", x: x, y: y, style: style)
        for row in (y + 1)..<(y + h - 1) {
            put("│", x: x, y: row, style: style)
            put("│", x: x + w - 1, y: row, style: style)
        }
        put("└" + String(repeating: "─", count: w - 2) + "┘", x: x, y: y + h - 1, style: style)
        if let title, w > 4 {
            // A title longer than the border is cut with "…", never mid-way without a sign.
            let room = w - 6
            var cut = TextLayout.clip(title, to: max(0, room - 1))
            while cut.hasSuffix("…") || cut.hasSuffix(" ") { cut.removeLast() }   // one "…", not "……"
            let shown = DisplayWidth.of(title) <= room ? title : cut + "…"
            put(" " + shown + " ", x: x + 2, y: y, style: titleStyle ?? style, maxX: x + w - 2)
        }
    }

    /// The text of row `y` (wide characters once, trailing spaces kept).
    public func row(_ y: Int) -> String {
        var s = ""
        for x in 0..<width where !self[x, y].isContinuation { s += self[x, y].text }
        return s
    }

    /// The whole screen as text, one line per row, trailing spaces trimmed (for snapshots).
    /// The style role of every cell, one letter each (the legend gives the letters), trailing plain
    /// cells trimmed: snapshots record what each character is drawn as, not only the text.
    public var roles: String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        func letter(_ r: StyleRole) -> Character { letters[StyleRole.allCases.firstIndex(of: r)!] }
        let legend = StyleRole.allCases.map { "\(letter($0))=\($0.rawValue)" }.joined(separator: " ")
        let rows = (0..<height).map { y -> String in
            var row = String((0..<width).map { x in self[x, y].style.role == .text && self[x, y].text == " " ? " " : letter(self[x, y].style.role) })
            while row.last == " " { row.removeLast() }
            return row
        }
        return "roles: " + legend + "\n" + rows.joined(separator: "\n")
    }

    public var text: String {
        (0..<height).map { row($0).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }.joined(separator: "\n")
    }
}
