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
            var wordStart = text.startIndex
            var wordWidth = 0
            func flushWord(upTo end: String.Index) {
                guard wordStart < end else { return }
                let word = text[wordStart..<end]
                if col + wordWidth > width && col > padWidth { newline() }
                if wordWidth <= width - col {
                    append(word, span.style, wordWidth)
                } else {
                    // Longer than a line: break it by clusters.
                    for ch in word {
                        let w = DisplayWidth.of(ch)
                        if col + w > width && col > padWidth { newline() }
                        append(String(ch), span.style, w)
                    }
                }
                wordWidth = 0
            }
            var i = text.startIndex
            while i < text.endIndex {
                let ch = text[i]
                let next = text.index(after: i)
                if ch == "\n" {
                    flushWord(upTo: i)
                    newline()
                    wordStart = next
                } else if ch == " " {
                    flushWord(upTo: i)
                    if col >= width { newline() }
                    else if col > padWidth || lines.isEmpty { append(" ", span.style, 1) }
                    wordStart = next
                } else {
                    let w = DisplayWidth.of(ch)
                    if w == 2 {
                        // Wide characters are their own words (CJK text has no spaces to break at).
                        flushWord(upTo: i)
                        wordStart = i
                        wordWidth = 2
                        flushWord(upTo: next)
                        wordStart = next
                    } else {
                        wordWidth += w
                    }
                }
                i = next
            }
            flushWord(upTo: text.endIndex)
        }
        if !current.isEmpty || lines.isEmpty { lines.append(Line(current)) }
        return lines
    }

    /// Inline Markdown: `code` and **bold**. Unclosed markers stay literal.
    public static func inline(_ text: String, base: Style) -> [Span] {
        if !text.utf8.contains(0x60) && !text.utf8.contains(0x2A) { return [Span(text, base)] }  // no ` or *: plain
        var spans: [Span] = []
        var plain = ""
        var rest = Substring(text)
        func flush() { if !plain.isEmpty { spans.append(Span(plain, base)); plain = "" } }
        while let ch = rest.first {
            if ch == "`", let end = rest.dropFirst().firstIndex(of: "`") {
                flush()
                spans.append(Span(String(rest[rest.index(after: rest.startIndex)..<end]), Style(.code)))
                rest = rest[rest.index(after: end)...]
                continue
            }
            if rest.hasPrefix("**"), let end = rest.dropFirst(2).range(of: "**"), end.lowerBound > rest.index(rest.startIndex, offsetBy: 2) {
                flush()
                spans.append(Span(String(rest[rest.index(rest.startIndex, offsetBy: 2)..<end.lowerBound]), base.bolded))
                rest = rest[end.upperBound...]
                continue
            }
            plain.append(ch)
            rest = rest.dropFirst()
        }
        flush()
        return spans
    }

    /// Lays out a message's Markdown for `width` cells.
    public static func markdown(_ raw: String, width: Int, base: Style) -> [Line] {
        var text = raw
        var omitted = 0
        if text.count > maxCharactersPerMessage {
            omitted = text.count - maxCharactersPerMessage
            text = String(text.prefix(maxCharactersPerMessage))
        }
        if text.utf8.contains(0x09) { text = text.replacingOccurrences(of: "\t", with: "    ") }
        if text.utf8.contains(0x0D) { text = text.replacingOccurrences(of: "\r\n", with: "\n") }
        var lines: [Line] = []
        var inCode = false
        for source in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(source)
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("```") {
                inCode.toggle()
                let lang = trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces)
                // The fence line is decoration: cut to the pane.
                let fence = inCode ? "╭─" + (lang.isEmpty ? "" : " \(lang) ") : "╰─"
                lines.append(Line([Span(clip(fence, to: max(2, width)), Style(.dim))]))
                continue
            }
            if inCode {
                // Code keeps its spaces and breaks only where it must.
                lines += wrap([Span(line.isEmpty ? " " : line, Style(.code))], width: width, firstIndent: [Span("│ ", Style(.dim))], indent: 2)
                continue
            }
            if trimmed.isEmpty { lines.append(Line()); continue }
            if let heading = headingText(trimmed) {
                lines += wrap(inline(heading, base: Style(.accent, bold: true)), width: width)
                continue
            }
            if let (marker, body) = listItem(trimmed) {
                let lead = line.count - trimmed.count
                var prefix = String(repeating: " ", count: min(lead, 8)) + marker
                if DisplayWidth.of(prefix) * 2 > width { prefix = DisplayWidth.of(marker) < width ? marker : "" }  // narrow pane: no indent
                lines += wrap(inline(body, base: base), width: width, firstIndent: [Span(prefix, Style(.accent))], indent: DisplayWidth.of(prefix))
                continue
            }
            lines += wrap(inline(line, base: base), width: width)
        }
        if omitted > 0 {
            lines.append(Line([Span("… \(omitted) more characters not shown", Style(.dim))]))
        }
        return lines
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
