import Foundation

/// A run of text in one style.
public struct Span: Equatable, Sendable {
    public var text: String
    public var style: Style
    public init(_ text: String, _ style: Style) {
        self.text = text
        self.style = style
    }
}

/// One laid-out row: spans whose display width fits the width it was laid out for.
public struct Line: Equatable, Sendable {
    public var spans: [Span]
    public var width: Int
    public init(_ spans: [Span] = []) {
        self.spans = spans
        width = spans.reduce(0) { $0 + DisplayWidth.of($1.text) }
    }

    /// With a width already known (no recount).
    init(_ spans: [Span], width: Int) {
        self.spans = spans
        self.width = width
    }
    public var text: String { spans.map(\.text).joined() }
}

/// Wrapping by display width (CJK and emoji count as two cells; a line never exceeds its width),
/// and a small Markdown subset: paragraphs, lists, fenced code blocks, headings, `inline code`, **bold**.
public enum TextLayout {
    /// At most this many characters of one message are laid out; the rest is summarised, so a
    /// megabyte-long line cannot stall a frame.
    public static let maxCharactersPerMessage = 20_000

    /// Wraps styled text at word boundaries to `width` cells. Words longer than a line are broken;
    /// wide (CJK) characters may break anywhere. `indent` cells are added before continuation lines.
    public static func wrap(_ spans: [Span], width: Int, firstIndent: [Span] = [], indent: Int = 0) -> [Line] {
        let width = max(1, width)
        var lines: [Line] = []
        var current: [Span] = firstIndent
        var col = firstIndent.reduce(0) { $0 + DisplayWidth.of($1.text) }
        let padWidth = min(indent, max(0, width - 2))  // leave room for a wide character
        let pad = String(repeating: " ", count: padWidth)
        func append<S: StringProtocol>(_ text: S, _ style: Style, _ w: Int) {
            if let last = current.last, last.style == style { current[current.count - 1].text += text } else { current.append(Span(String(text), style)) }
            col += w
        }
        func newline() {
            lines.append(Line(current))
            current = pad.isEmpty ? [] : [Span(pad, .text)]
            col = padWidth
        }
        for span in spans {
            let text = span.text
            let bytes = text.utf8
            // Words are found by bytes: a space or newline byte never occurs inside a multi-byte character.
            var i = bytes.startIndex
            while i < bytes.endIndex {
                let b = bytes[i]
                if b == 0x0A { newline(); i = bytes.index(after: i); continue }
                if b == 0x20 {
                    if col >= width { newline() } else if col > padWidth || lines.isEmpty { append(" ", span.style, 1) }
                    i = bytes.index(after: i)
                    continue
                }
                var j = i
                var ascii = true
                while j < bytes.endIndex && bytes[j] != 0x20 && bytes[j] != 0x0A {
                    if bytes[j] < 0x20 || bytes[j] >= 0x7F { ascii = false }
                    j = bytes.index(after: j)
                }
                let word = text[i..<j]
                if ascii { placeASCII(word, span.style) } else { placeClusters(word, span.style) }
                i = j
            }
        }
        /// A printable-ASCII word: one cell per byte; a word longer than a line is cut.
        func placeASCII(_ w: Substring, _ style: Style) {
            var word = w
            while !word.isEmpty {
                let n = word.utf8.count
                if col + n > width && col > padWidth { newline() }
                let room = max(1, width - col)
                if n <= room { append(word, style, n); return }
                let cut = word.utf8.index(word.startIndex, offsetBy: room)
                append(word[..<cut], style, room)
                word = word[cut...]
                newline()
            }
        }
        /// Any other word: widths by drawn piece (a cluster of several spacing characters is several
        /// pieces, as the terminal draws it); wide pieces (CJK has no spaces) break anywhere.
        func placeClusters(_ word: Substring, _ style: Style) {
            var run = ""
            var runW = 0
            func flush() {
                guard !run.isEmpty else { return }
                if col + runW > width && col > padWidth { newline() }
                if runW <= width - col {
                    append(run, style, runW)
                } else {
                    for ch in run {
                        let cw = DisplayWidth.of(ch)
                        if col + cw > width && col > padWidth { newline() }
                        append(String(ch), style, cw)
                    }
                }
                run = ""
                runW = 0
            }
            for ch in word {
                for (piece, w) in DisplayWidth.pieces(ch) {
                    if w == 2 {
                        flush()
                        run = piece
                        runW = 2
                        flush()
                    } else {
                        run += piece
                        runW += w
                    }
                }
            }
            flush()
        }
        if !current.isEmpty || lines.isEmpty { lines.append(Line(current)) }
        return lines
    }

    /// Inline Markdown: `code`, **bold** and *italics*. Unclosed markers stay literal, and so does a
    /// `*` with a space after it (or before its closing one), as in "2 * 3 * 4".
    public static func inline(_ text: String, base: Style) -> [Span] {
        if !text.utf8.contains(0x60) && !text.utf8.contains(0x2A) { return [Span(text, base)] }  // no ` or *: plain
        var spans: [Span] = []
        var rest = Substring(text)
        var plainStart = rest.startIndex
        var i = rest.startIndex
        func flush(_ upTo: String.Index) { if plainStart < upTo { spans.append(Span(String(text[plainStart..<upTo]), base)) } }
        while i < rest.endIndex {
            let ch = rest[i]
            if ch == "`", let end = rest[rest.index(after: i)...].firstIndex(of: "`") {
                flush(i)
                spans.append(Span(String(rest[rest.index(after: i)..<end]), Style(.code)))
                i = rest.index(after: end)
                plainStart = i
                continue
            }
            if ch == "*", rest[i...].hasPrefix("**") {
                let open = rest.index(i, offsetBy: 2)
                if let close = rest[open...].range(of: "**"), close.lowerBound > open {
                    flush(i)
                    spans.append(Span(String(rest[open..<close.lowerBound]), base.bolded))
                    i = close.upperBound
                    plainStart = i
                    continue
                }
            }
            if ch == "*", !rest[i...].hasPrefix("**") {
                let open = rest.index(after: i)
                if open < rest.endIndex, !rest[open].isWhitespace, rest[open] != "*",
                   let close = rest[open...].firstIndex(of: "*"), close > open, !rest[rest.index(before: close)].isWhitespace {
                    flush(i)
                    var italic = base
                    italic.italic = true
                    spans.append(Span(String(rest[open..<close]), italic))
                    i = rest.index(after: close)
                    plainStart = i
                    continue
                }
            }
            i = rest.index(after: i)
        }
        flush(rest.endIndex)
        rest = ""
        return spans
    }

    /// Lays out a message's Markdown for `width` cells.
    public static func markdown(_ raw: String, width: Int, base: Style) -> [Line] {
        var text = raw
        var omitted = 0
        if text.utf8.count > maxCharactersPerMessage && text.count > maxCharactersPerMessage {   // utf8.count is O(1)
            omitted = text.count - maxCharactersPerMessage
            text = String(text.prefix(maxCharactersPerMessage))
        }
        // A plain one-line message (the common case) needs no block structure: wrap its inline spans.
        if let first = text.utf8.first(where: { $0 != 0x20 }), !text.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }),
           !"`#-*+".utf8.contains(first), !(first >= 0x30 && first <= 0x39), omitted == 0 {
            return wrap(inline(text, base: base), width: width)
        }
        var lines: [Line] = []
        var inCode = false
        for source in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lines += markdownLine(source, width: width, base: base, inCode: &inCode)
        }
        if omitted > 0 {
            lines.append(Line([Span("… \(omitted) more characters not shown", Style(.dim))]))
        }
        return lines
    }

    /// Lays out one source line of Markdown. The only state a line passes to the next is whether a
    /// code fence is open, which is what lets a streaming reply lay out each line once.
    static func markdownLine(_ source: Substring, width: Int, base: Style, inCode: inout Bool) -> [Line] {
        var line = String(source)
        if line.utf8.last == 0x0D { line.removeLast() }   // CRLF
        if line.utf8.contains(0x09) { line = expandTabs(line) }
        let trimmed = line.drop { $0 == " " }
        if trimmed.hasPrefix("```") {
            inCode.toggle()
            let lang = trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces)
            // The fence line is decoration: cut to the pane.
            let fence = inCode ? "╭─" + (lang.isEmpty ? "" : " \(lang) ") : "╰─"
            return [Line([Span(clip(fence, to: max(2, width)), Style(.dim))])]
        }
        if inCode {
            // Code keeps its spaces and breaks only where it must.
            return wrap([Span(line.isEmpty ? " " : line, Style(.code))], width: width, firstIndent: [Span("│ ", Style(.dim))], indent: 2)
        }
        if trimmed.isEmpty { return [Line()] }
        if let heading = headingText(trimmed) {
            return wrap(inline(heading, base: Style(.accent, bold: true)), width: width)
        }
        if let (marker, body) = listItem(trimmed) {
            let lead = line.count - trimmed.count
            var prefix = String(repeating: " ", count: min(lead, 8)) + marker
            if DisplayWidth.of(prefix) * 2 > width { prefix = DisplayWidth.of(marker) < width ? marker : "" }  // narrow pane: no indent
            return wrap(inline(body, base: base), width: width, firstIndent: [Span(prefix, Style(.accent))], indent: DisplayWidth.of(prefix))
        }
        return wrap(inline(line, base: base), width: width)
    }

    /// Tabs become spaces up to the next stop every `stop` cells (as the input box draws them), so
    /// pasted columns of code line up in the conversation as they did when typed.
    static func expandTabs(_ line: String, stop: Int = 4) -> String {
        var out = ""
        var column = 0
        for ch in line {
            if ch == "\t" {
                let n = stop - column % stop
                out += String(repeating: " ", count: n)
                column += n
            } else {
                out.append(ch)
                column += DisplayWidth.of(String(ch))
            }
        }
        return out
    }

    /// The longest prefix of `text` that fits in `width` cells.
    static func clip(_ text: String, to width: Int) -> String {
        var out = ""
        var used = 0
        for ch in text {
            let w = DisplayWidth.of(ch)
            if used + w > width { break }
            out.append(ch)
            used += w
        }
        return out
    }

    static func headingText(_ s: Substring) -> String? {
        let hashes = s.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes), s.dropFirst(hashes).first == " " else { return nil }
        return String(s.dropFirst(hashes + 1))
    }

    static func listItem(_ s: Substring) -> (String, String)? {
        for bullet in ["- ", "* ", "+ "] where s.hasPrefix(bullet) { return ("• ", String(s.dropFirst(2))) }
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        if !digits.isEmpty, digits.count <= 3, s.dropFirst(digits.count).hasPrefix(". ") {
            return ("\(digits). ", String(s.dropFirst(digits.count + 2)))
        }
        return nil
    }
}
