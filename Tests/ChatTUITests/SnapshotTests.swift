import ChatEngine
import Foundation
import Testing
@testable import ChatTUI

/// Grid snapshots: the expected screens live in Snapshots/*.txt beside this file, the text and then the
/// style role of every cell (a letter each, with its legend). A missing file is
/// written (and the test fails, so a new snapshot is always looked at); CHATBENCH_RECORD_SNAPSHOTS=1
/// re-records them on purpose.
func assertSnapshot(_ grid: Grid, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
    let file = dir.appendingPathComponent(name + ".txt")
    let actual = grid.text + "\n" + grid.roles + "\n"
    let record = ProcessInfo.processInfo.environment["CHATBENCH_RECORD_SNAPSHOTS"] == "1"
    if record || !FileManager.default.fileExists(atPath: file.path) {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? actual.write(to: file, atomically: true, encoding: .utf8)
        if !record { Issue.record("recorded a new snapshot \(name); check it and run again", sourceLocation: sourceLocation) }
        return
    }
    let expected = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    if expected != actual {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false), a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let firstDiff = zip(e, a).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(e.count, a.count)
        Issue.record("snapshot \(name) differs at row \(firstDiff):\nexpected: \(firstDiff < e.count ? String(e[firstDiff]) : "<none>")\nactual:   \(firstDiff < a.count ? String(a[firstDiff]) : "<none>")\n\(actual)",
                     sourceLocation: sourceLocation)
    }
}

/// A fixed, realistic session: CJK and emoji, a chain that broke and was repaired, and a mode switch.
enum Fixture {
    static func id(_ prefix: String, _ n: Int) -> String { prefix + "_" + String(repeating: String(n), count: 6) + "abcdef0123456789" }

    static let messages: [ChatMessage] = [
        ChatMessage(id: 1, role: .user, text: "My name is Priya and I'm moving to Lisbon. 😀"),
        ChatMessage(id: 2, role: .assistant, text: "Nice to meet you, Priya! Noted: you're moving to Lisbon."),
        ChatMessage(id: 3, role: .user, text: "我的猫叫 Miso 🐱 — I have a cat named Miso."),
        ChatMessage(id: 4, role: .assistant, text: "Noted: you have a cat named Miso."),
        ChatMessage(id: 5, role: .user, text: "Where am I moving, and what's my cat's name?"),
        ChatMessage(id: 6, role: .assistant, text: "You're moving to Lisbon. Your cat is named Miso.\n\n- packing list: **passport**, `adapter`\n- 日本語の本 📚"),
    ]

    static func turns(_ mode: MemoryMode) -> [TurnRecord] {
        func t(_ n: Int, _ m: MemoryMode, prev: String?, event: ChainEvent, input: Int, output: Int, bytes: Int, items: Int, error: String? = nil,
               conv: String? = nil, policy: PolicyEffect? = nil) -> TurnRecord {
            TurnRecord(id: Int64(n), sessionID: 1, number: n, mode: m, backend: "offline", model: "offline-model", previousResponseID: prev,
                       responseID: id("resp", n), conversationID: conv, itemsSent: items, inputItems: items, requestBytes: bytes, inputTokens: input,
                       cachedTokens: 0, outputTokens: output, latencyMs: 3, status: .completed, errorCode: error,
                       errorMessage: error.map { _ in "Previous response not found." }, chainEvent: event, policyEffect: policy,
                       userMessageID: Int64(n * 2 - 1), replyMessageID: Int64(n * 2), createdAt: 0)
        }
        switch mode {
        case .chain, .hybrid:
            return [t(1, mode, prev: nil, event: .start, input: 20, output: 14, bytes: 172, items: 1),
                    t(2, mode, prev: id("resp", 1), event: .continue, input: 49, output: 9, bytes: 221, items: 1),
                    t(3, mode, prev: nil, event: .repair, input: 86, output: 13, bytes: 640, items: 6, error: "previous_response_not_found")]
        case .conversation:
            let c = id("conv", 7)
            return [t(1, .chain, prev: nil, event: .start, input: 20, output: 14, bytes: 172, items: 1),
                    t(2, .conversation, prev: nil, event: .switch, input: 49, output: 9, bytes: 398, items: 3, conv: c),
                    t(3, .conversation, prev: nil, event: .continue, input: 86, output: 13, bytes: 175, items: 1, conv: c)]
        case .client:
            return [t(1, .client, prev: nil, event: .client, input: 20, output: 14, bytes: 172, items: 1, policy: PolicyEffect(policy: "window:4", kept: 0, dropped: 0, summarized: 0)),
                    t(2, .client, prev: nil, event: .client, input: 49, output: 9, bytes: 402, items: 3, policy: PolicyEffect(policy: "window:4", kept: 2, dropped: 0, summarized: 0)),
                    t(3, .client, prev: nil, event: .client, input: 60, output: 13, bytes: 520, items: 5, policy: PolicyEffect(policy: "window:4", kept: 4, dropped: 0, summarized: 0))]
        case .layered:
            return [t(1, .layered, prev: nil, event: .client, input: 20, output: 14, bytes: 172, items: 1),
                    t(2, .layered, prev: nil, event: .client, input: 49, output: 9, bytes: 402, items: 3),
                    t(3, .layered, prev: nil, event: .client, input: 60, output: 13, bytes: 520, items: 5)]
        }
    }

    static func state(_ mode: MemoryMode, width: Int, height: Int, streaming: Bool = false) -> AppState {
        var s = idleState(mode: mode)
        s.width = width
        s.height = height
        let turns = turns(mode)
        s.session?.policy = mode == .client ? "window:4" : "all"
        s.session?.chainHead = mode == .chain || mode == .hybrid ? turns.last?.responseID : nil
        s.session?.conversationID = mode == .conversation ? id("conv", 7) : nil
        s.messages = messages
        s.turns = turns
        s.memory = MemoryState(mode: mode, policy: s.session!.policy, profile: "default",
                               serverItems: mode == .client ? nil : (mode == .conversation ? 8 : 8), serverTurns: mode == .conversation ? 2 : 1,
                               chainHead: s.session?.chainHead, conversationID: s.session?.conversationID, transcriptMessages: 6,
                               clientItems: mode == .client ? 6 : 0, facts: mode == .hybrid ? 3 : 0, last: turns.last, lastCompleted: turns.last,
                               turns: 3, totalBytes: turns.reduce(0) { $0 + $1.requestBytes }, totalInputTokens: turns.reduce(0) { $0 + ($1.inputTokens ?? 0) },
                               totalCachedTokens: 0, totalOutputTokens: turns.reduce(0) { $0 + ($1.outputTokens ?? 0) })
        if streaming {
            s.streaming = StreamState(userText: "What should I pack? 🧳", reply: "For your move to Lisbon: sort your", revision: 7)
            s.input = InputEditor("typing while it streams 漢字")
        }
        return s
    }
}

@Suite struct SnapshotTests {
    @Test(arguments: [MemoryMode.chain, .conversation, .client, .hybrid, .layered])
    func mainScreenInEachMode(mode: MemoryMode) {
        for (w, h) in [(80, 24), (120, 40)] {
            let g = Views.render(Fixture.state(mode, width: w, height: h), layout: LayoutCache())
            assertSnapshot(g, "main-\(mode.rawValue)-\(w)x\(h)")
            for y in 0..<g.height { #expect(DisplayWidth.of(g.row(y)) == w, "row \(y) is not \(w) cells wide") }
        }
    }

    @Test func replyMidStream() {
        for (w, h) in [(80, 24), (120, 40)] {
            let g = Views.render(Fixture.state(.chain, width: w, height: h, streaming: true), layout: LayoutCache())
            assertSnapshot(g, "streaming-\(w)x\(h)")
            #expect(g.text.contains("sort your▍"))
            #expect(g.text.contains("streaming…"))
            #expect(g.cursor != nil)
        }
    }

    @Test func overlaysAndSmallSizes() {
        var s = Fixture.state(.chain, width: 100, height: 30)
        s.overlay = .help
        assertSnapshot(Views.render(s, layout: LayoutCache()), "help-100x30")
        s.overlay = .modePicker(selected: 3)
        assertSnapshot(Views.render(s, layout: LayoutCache()), "picker-100x30")
        var small = Fixture.state(.chain, width: 80, height: 24)
        small.overlay = .help
        let help80 = Views.render(small, layout: LayoutCache())
        assertSnapshot(help80, "help-80x24")
        s.overlay = .none
        s.width = 60
        s.height = 20
        assertSnapshot(Views.render(s, layout: LayoutCache()), "narrow-60x20")
        s.width = 30
        s.height = 8
        assertSnapshot(Views.render(s, layout: LayoutCache()), "too-small-30x8")
    }

    /// The new-session dialog, a view scrolled back, and the error bar: drawn from the state alone.
    @Test func dialogScrolledViewAndErrorBar() {
        var s = Fixture.state(.chain, width: 80, height: 24)
        s.now = Date(timeIntervalSince1970: 1_780_000_000)   // the clock is an input: the default name is fixed
        let cache = LayoutCache()
        _ = App.update(&s, .key(.ctrl("n")), layout: cache)
        let dialog = Views.render(s, layout: cache)
        assertSnapshot(dialog, "new-session-80x24")
        // The default name is drawn as selected text (reversed): typing replaces it.
        guard let at = dialog.text.split(separator: "\n").firstIndex(where: { $0.contains("name: session-") }) else { Issue.record("no name"); return }
        let row = String(dialog.text.split(separator: "\n")[at])
        let x = DisplayWidth.of(String(row[..<row.range(of: "session-")!.lowerBound]))
        #expect(dialog[x, at].style.reverse)
        _ = App.update(&s, .key(.left), layout: cache)
        #expect(!Views.render(s, layout: cache)[x, at].style.reverse)
        _ = App.update(&s, .key(.escape), layout: cache)
        _ = App.update(&s, .key(.pageUp), layout: cache)
        let scrolled = Views.render(s, layout: cache)
        assertSnapshot(scrolled, "scrolled-80x24")
        #expect(scrolled.text.contains("scrolled"))
        s.scroll = .follow
        _ = App.update(&s, .engine(.failure("502 server_error (upstream_error): the upstream went away")), layout: cache)
        let error = Views.render(s, layout: cache)
        assertSnapshot(error, "error-bar-80x24")
        // Too long for the status line even beside its short form: the footer says it whole.
        let whole = "could not read the store: Redis at 127.0.0.1:27611: connection refused"
        _ = App.update(&s, .engine(.failure(whole)), layout: cache)
        for width in [80, 120] {
            var wide = s
            wide.width = width
            let g = Views.render(wide, layout: cache)
            #expect(g.row(g.height - 1).contains("✕ " + whole) || g.row(0).contains("✕ " + whole), "\(width): the error is cut")
        }
        // With a notice up too (80 columns: the error is cut above), the footer says the error first.
        var both = s
        both.notice = "back"
        let footer = Views.render(both, layout: cache).row(both.height - 1)
        #expect(footer.hasPrefix(" ✕ " + whole) && footer.contains("· back"), "\(footer)")
        #expect(error.roles.contains("i"), "the error bar is drawn in the error role")
    }

    /// The help is never cut: at 200 columns every row is whole on one line; at 80x24 it wraps and
    /// scrolls, and scrolling through it shows every word of every row.
    @Test func helpIsWholeAtEverySize() {
        var wide = Fixture.state(.chain, width: 200, height: 60)
        wide.overlay = .help
        let g = Views.render(wide, layout: LayoutCache())
        assertSnapshot(g, "help-200x60")
        for b in KeyTable.bindings { #expect(g.text.contains(b.label.padding(toLength: 9, withPad: " ", startingAt: 0) + b.help), "\(b.label) is cut at 200 columns") }
        for mode in MemoryMode.allCases { #expect(g.text.contains(" \(mode.rawValue) "), "the help's modes line leaves out \(mode.rawValue)") }
        let cache = LayoutCache()
        var small = Fixture.state(.chain, width: 80, height: 24)
        small.overlay = .help
        var seen = ""
        for _ in 0..<40 {
            seen += Views.render(small, layout: cache).text + "\n"
            _ = App.update(&small, .key(.down), layout: cache)
        }
        assertSnapshot(Views.render(small, layout: cache), "help-80x24-scrolled")
        let words = Set(seen.split { $0 == " " || $0 == "│" || $0 == "\n" })
        for b in KeyTable.bindings {
            #expect(words.contains(Substring(b.label.split(separator: " ").first!)))
            for word in b.help.split(separator: " ") { #expect(words.contains(word), "\(word) of \(b.label) never shown at 80x24") }
        }
        #expect(App.update(&small, .key(.escape), layout: cache).isEmpty && small.overlay == .none && small.helpScroll == 0)
    }

    @Test func everySizeRendersWithoutCrashing() {
        var s = Fixture.state(.client, width: 1, height: 1, streaming: true)
        for (w, h) in [(0, 0), (1, 1), (2, 3), (39, 11), (40, 12), (41, 13), (71, 20), (72, 20), (500, 200)] {
            s.width = w
            s.height = h
            let g = Views.render(s, layout: LayoutCache())
            #expect(g.width == w && g.height == h)
            if let c = g.cursor { #expect(c.x >= 0 && c.x < w && c.y >= 0 && c.y < h) }
        }
    }
}

@Suite struct ThemeTests {
    @Test func builtinThemesAreTheFilesInThemesFolder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for name in Theme.builtinNames {
            let file = try String(contentsOf: root.appendingPathComponent("themes/\(name).json"), encoding: .utf8)
            #expect(file == BuiltinThemes.all[name]! + "\n", "themes/\(name).json and the built-in copy differ")
            let theme = try #require(Theme.builtin(name))
            #expect(Set(theme.roles.keys) == Set(StyleRole.allCases), "\(name) must style every role")
        }
    }

    @Test func aBadThemeNamesTheFileAndKeyAndFallsBack() throws {
        let dir = NSTemporaryDirectory() + "theme-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = dir + "/bad.json"
        try #"{"name":"bad","roles":{"user":{"fg":"purpul"}}}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        let (theme, error) = Theme.load(bad, configThemes: dir)
        #expect(theme.name == "default")
        #expect(error?.file == bad && error?.key == "roles.user.fg")
        try #"{"name":"mine","roles":{"user":{"fg":208,"bold":true}}}"#.write(toFile: dir + "/mine.json", atomically: true, encoding: .utf8)
        let (mine, noError) = Theme.load("mine", configThemes: dir)
        #expect(noError == nil && mine.name == "mine" && mine.style(.user).fg == .index(208) && mine.style(.user).bold)
        #expect(Theme.load("nope", configThemes: dir).1?.problem.contains("no such theme") == true)
        #expect(Theme.load("{", configThemes: dir).1 != nil)
        let notJSON = dir + "/x.json"
        try "not json".write(toFile: notJSON, atomically: true, encoding: .utf8)
        #expect(Theme.load(notJSON, configThemes: dir).1?.key == "(file)")
    }

    @Test func coloursMapDownWhenTheTerminalHasFewer() {
        #expect(ThemeColor.rgb(255, 0, 0).resolve(colors: 256) == 196)
        #expect(ThemeColor.rgb(255, 0, 0).resolve(colors: 16) == 9)
        #expect(ThemeColor.rgb(250, 250, 250).resolve(colors: 8) == 7)
        #expect(ThemeColor.index(208).resolve(colors: 256) == 208)
        #expect(ThemeColor.index(208).resolve(colors: 16) == 3)   // orange → the nearest of 16: yellow
        #expect(ThemeColor.rgb(255, 128, 0).resolve(colors: 16_777_216) == 0xFF8000)
        #expect(ThemeColor.index(1).resolve(colors: 16_777_216) == 0xCD0000)
        #expect(ThemeColor.terminalDefault.resolve(colors: 256) == -1)
    }
}

@Suite struct CompareViewTests {
    static func state(width: Int, height: Int, columns: [CompareColumn]) -> AppState {
        var s = Fixture.state(.chain, width: width, height: height)
        var cv = CompareViewState(columns: columns.map { CompareColumnState(column: $0, session: "cmp-\($0.label)") })
        let texts = ["My name is Priya and I'm moving to Lisbon. 😀", "我的猫叫 Miso 🐱", "Where am I moving?"]
        for (ci, col) in columns.enumerated() {
            var id = Int64(100 * (ci + 1))
            for (ti, text) in texts.enumerated() {
                cv.columns[ci].messages.append(ChatMessage(id: id, role: .user, text: text)); id += 1
                let reply = col.policy.hasPrefix("window") && ti == 2 ? "I don't know where you're moving: it isn't in the context I can see (2 earlier messages)." : "Noted (\(ti + 1))."
                cv.columns[ci].messages.append(ChatMessage(id: id, role: .assistant, text: reply)); id += 1
                let bytes = col.mode == .client ? 124 + ti * 300 : (ti == 0 ? 110 : 175)
                cv.rows.append(CompareTurn(mode: col.label, turn: ti + 1, request_bytes: bytes, items_sent: col.mode == .client ? 1 + 2 * ti : 1,
                                           input_tokens: 20 + 25 * ti, output_tokens: 9, latency_ms: 3))
            }
        }
        cv.turn = 3
        s.compare = cv
        return s
    }

    @Test func compareViewSnapshots() {
        let two = [CompareColumn(mode: .chain), CompareColumn(mode: .client)]
        let four = two + [CompareColumn(mode: .client, policy: "window:2"), CompareColumn(mode: .conversation)]
        assertSnapshot(Views.render(Self.state(width: 120, height: 40, columns: two), layout: LayoutCache()), "compare-120x40")
        let big = Views.render(Self.state(width: 200, height: 60, columns: four), layout: LayoutCache())
        assertSnapshot(big, "compare-200x60")
        expectWholeSummary(big, Self.state(width: 200, height: 60, columns: four))
        #expect(big.text.contains("client sent") && big.text.contains("× the bytes of chain"))
        for y in 0..<big.height { #expect(DisplayWidth.of(big.row(y)) == 200) }
    }

    /// Small terminals: every border intact, per-turn rows still shown, the summary whole.
    @Test func compareViewOnSmallTerminals() {
        let three = [CompareColumn(mode: .chain), CompareColumn(mode: .client), CompareColumn(mode: .client, policy: "window:2")]
        for (w, h) in [(80, 24), (60, 20)] {
            let g = Views.render(Self.state(width: w, height: h, columns: three), layout: LayoutCache())
            assertSnapshot(g, "compare-\(w)x\(h)")
            let rows = (0..<h).map { g.row($0) }
            let table = try? #require(rows.firstIndex { $0.contains("Per turn") })
            guard let top = table else { continue }
            let bottom = try? #require(rows[(top + 1)...].firstIndex { $0.hasPrefix("└") })
            guard let end = bottom else { continue }
            for y in (top + 1)..<end {
                #expect(rows[y].hasPrefix("│") && rows[y].hasSuffix("│"), "row \(y) breaks the table's border at \(w)x\(h):\n\(g.text)")
            }
            #expect(rows[top..<end].contains { $0.contains("   3  chain") }, "no per-turn row at \(w)x\(h):\n\(g.text)")
            if w == 80 { expectWholeSummary(g, Self.state(width: w, height: h, columns: three)) }
        }
    }

    /// The summary is wrapped, not cut: every word of its lines is on screen.
    func expectWholeSummary(_ g: Grid, _ s: AppState, sourceLocation: SourceLocation = #_sourceLocation) {
        let summary = CompareSummary.of(s.compare!.rows, sessions: [:])
        let screenWords = Set(g.text.split { $0 == " " || $0 == "│" || $0 == "\n" })
        for line in summary.lines.prefix(summary.columns.count - 1) {
            for word in line.split(separator: " ") {
                #expect(screenWords.contains(word), "\(word) of the summary is missing at \(g.width)x\(g.height)", sourceLocation: sourceLocation)
            }
        }
    }

    /// Every F3 column shows the message just sent and the reply arriving, turn after turn, with one
    /// layout cache for the whole run as the app has.
    @Test func eachColumnStreamsTheCurrentTurn() {
        let cache = LayoutCache()
        var s = idleState()
        s.width = 120
        s.height = 40
        _ = App.update(&s, .engine(.compareOpened(CompareViewState(columns: [CompareColumnState(column: CompareColumn(mode: .chain), session: "a"),
                                                                         CompareColumnState(column: CompareColumn(mode: .client), session: "b")]))), layout: cache)
        var id: Int64 = 1
        for (n, text) in ["My name is Carl.", "I'm a pilot.", "What do you know about me?"].enumerated() {
            for ch in text { _ = App.update(&s, .key(.char(ch)), layout: cache) }
            _ = App.update(&s, .key(.enter), layout: cache)
            for i in 0..<2 { _ = App.update(&s, .engine(.compareDelta(column: i, text: "Reply \(n + 1) ")), layout: cache) }
            let g = Views.render(s, layout: cache)
            #expect(g.text.components(separatedBy: "you  " + text).count == 3, "both columns must show \(text):\n\(g.text)")
            #expect(g.text.components(separatedBy: "bot  Reply \(n + 1) ▍").count == 3, "\(g.text)")
            for i in 0..<2 {
                let new = [ChatMessage(id: id, role: .user, text: text), ChatMessage(id: id + 1, role: .assistant, text: "Reply \(n + 1) done.")]
                id += 2
                _ = App.update(&s, .engine(.compareTurn(column: i, row: CompareTurn(mode: i == 0 ? "chain" : "client", turn: n + 1, request_bytes: 100), newMessages: new)), layout: cache)
            }
            _ = Views.render(s, layout: cache)
        }
    }

    @Test func aFifthOrRepeatedModeIsRefusedNotSwapped() {
        let cache = LayoutCache()
        let four = [CompareColumn(mode: .chain), CompareColumn(mode: .client), CompareColumn(mode: .client, policy: "window:2"), CompareColumn(mode: .conversation)]
        var s = Self.state(width: 120, height: 40, columns: four)
        #expect(App.update(&s, .key(.f(2)), layout: cache).isEmpty)
        #expect(s.overlay == .none && s.notice?.contains("at most 4 modes") == true)
        var two = Self.state(width: 120, height: 40, columns: Array(four.prefix(2)))
        _ = App.update(&two, .key(.f(2)), layout: cache)
        #expect(App.update(&two, .key(.enter), layout: cache).isEmpty)   // the first choice is chain, already a column
        #expect(two.notice == "chain is already compared" && two.compare?.columns.count == 2)
        #expect(CompareViewState(columns: four.map { CompareColumnState(column: $0, session: $0.label) }).refusesColumn(CompareColumn(mode: .hybrid)) != nil)
    }

    /// A mode added on turn 3 has no bars for turns 1 and 2: its first bar sits under turn 3.
    @Test func aLateModesBarsStartAtItsFirstTurn() {
        var s = Self.state(width: 120, height: 40, columns: [CompareColumn(mode: .chain), CompareColumn(mode: .client)])
        s.compare?.columns.append(CompareColumnState(column: CompareColumn(mode: .hybrid), session: "h"))
        s.compare?.rows.append(CompareTurn(mode: "hybrid", turn: 3, request_bytes: 724))
        let g = Views.render(s, layout: LayoutCache())
        let row = (0..<g.height).map { g.row($0) }.first { $0.contains("│ hybrid    ") }
        #expect(row?.contains("hybrid                █ 724 B") == true, "\(row ?? g.text)")
    }

    @Test func sparklineScalesToTheLargestValue() {
        #expect(Views.sparkline([0, 50, 100], maxValue: 100, width: 10) == " ▅█")
        #expect(Views.sparkline([100, 100, 100], maxValue: 100, width: 2) == "██")
        #expect(Views.sparkline([], maxValue: 0, width: 5) == "")
    }

    @Test func compareKeys() {
        let cache = LayoutCache()
        var s = idleState()
        #expect(App.update(&s, .key(.f(3)), layout: cache) == [.openCompare])
        _ = App.update(&s, .engine(.compareOpened(CompareViewState(columns: [CompareColumnState(column: CompareColumn(mode: .chain), session: "a"),
                                                                         CompareColumnState(column: CompareColumn(mode: .client), session: "b")]))), layout: cache)
        for ch in "hi" { _ = App.update(&s, .key(.char(ch)), layout: cache) }
        #expect(App.update(&s, .key(.enter), layout: cache) == [.compareSend("hi")])
        #expect(s.compare?.inFlight == 2 && s.compare?.pendingUser == "hi")
        #expect(App.update(&s, .key(.f(3)), layout: cache).isEmpty && s.compare != nil)   // not while replies arrive
        #expect(App.update(&s, .key(.escape), layout: cache) == [.compareCancel] && s.compare != nil)   // Esc cancels them
        _ = App.update(&s, .engine(.compareDelta(column: 1, text: "Hel")), layout: cache)
        #expect(s.compare?.columns[1].streaming == "Hel")
        for i in 0..<2 {
            _ = App.update(&s, .engine(.compareTurn(column: i, row: CompareTurn(mode: i == 0 ? "chain" : "client", turn: 1, request_bytes: 100), newMessages: [])), layout: cache)
        }
        #expect(s.compare?.inFlight == 0 && s.compare?.rows.count == 2 && s.compare?.pendingUser == nil)
        _ = App.update(&s, .key(.f(2)), layout: cache)
        _ = App.update(&s, .key(.down), layout: cache)   // chain + compact: a column of its own
        #expect(App.update(&s, .key(.enter), layout: cache) == [.compareAddColumn(CompareColumn(mode: .chain, serverPolicy: "compact:20000"))])
        _ = App.update(&s, .key(.f(2)), layout: cache)
        for _ in 0..<3 { _ = App.update(&s, .key(.down), layout: cache) }
        #expect(App.update(&s, .key(.enter), layout: cache) == [.compareAddColumn(CompareColumn(mode: .conversation))])
        _ = App.update(&s, .key(.escape), layout: cache)
        #expect(s.compare == nil)
    }
}

@Suite struct BrowserTests {
    static func state() -> AppState {
        var s = Fixture.state(.chain, width: 120, height: 30)
        var b = BrowserState()
        b.sessions = [SessionSummary(name: "trip", mode: "chain", backend: "offline", policy: "all", turns: 3, messages: 6, bytes: 310, last_activity: 0, forked_from: nil),
                      SessionSummary(name: "work", mode: "client", backend: "offline", policy: "window:4", turns: 1, messages: 2, bytes: 45, last_activity: 0, forked_from: nil)]
        b.preview = Fixture.messages
        b.previewTurns = Fixture.turns(.chain)
        s.browser = b
        return s
    }

    @Test func browserSnapshot() {
        var s = Self.state()
        s.browser?.forkPoint = 0
        let g = Views.render(s, layout: LayoutCache())
        // The time zone is part of the state (UTC here), so the dates are a snapshot like the rest.
        assertSnapshot(g, "browser-120x30")
        #expect(g.text.contains("SESSIONS · 2 shown") && g.text.contains("Preview · trip") && g.text.contains("fork point resp_1111…"))
        #expect(g.text.contains("trip                 chain            3") && g.text.contains("work                 client[wind…"))
        for y in 0..<g.height { #expect(DisplayWidth.of(g.row(y)) == 120) }
    }

    /// The chain preview never starts inside a turn: at every height its top row is a turn's own
    /// "● … tN" row (the browser-120x30 snapshot had started with t1's "◆ new chain", its row cut off).
    @Test func theChainKeepsATurnsLinesTogether() {
        var s = Self.state()
        s.memory = nil
        for height in 1...9 {
            let lines = Views.chainLines(s, width: 50, height: height).map { $0.spans.map(\.text).joined() }
            #expect(lines.first?.hasPrefix("● ") == true && lines.count <= height, "height \(height): \(lines)")
        }
        #expect(Views.chainLines(s, width: 50, height: 6).map { $0.spans.map(\.text).joined() }.first?.contains(" t2 ") == true)
    }

    /// A name with control characters is shown escaped, as the CLI shows it (a\x0ab\x09c), never with
    /// them dropped: "a\nb\tc" and "abc" look different in the browser and on the status line.
    @Test func namesWithControlCharactersAreShownEscaped() {
        var s = Self.state()
        s.browser?.sessions = ["a\nb\tc", "abc"].map {
            SessionSummary(name: $0, mode: "chain", backend: "offline", policy: "all", turns: 1, messages: 2, bytes: 10, last_activity: 0, forked_from: nil)
        }
        let g = Views.render(s, layout: LayoutCache())
        #expect(g.text.contains("│ a\\x0ab\\x09c    ") && g.text.contains("│ abc    ") && g.text.contains("Preview · a\\x0ab\\x09c"), "\(g.text)")
        _ = App.update(&s, .key(.char("d")), layout: LayoutCache())
        #expect(Views.render(s, layout: LayoutCache()).text.contains("delete a\\x0ab\\x09c?"))
        var main = Fixture.state(.chain, width: 120, height: 30)
        main.session?.name = "a\nb\tc"
        main.notice = "session \"a\u{1b}[2Jb\""
        let screen = Views.render(main, layout: LayoutCache()).text
        #expect(screen.contains("session \"a\\x0ab\\x09c\"") && screen.contains("session \"a\\x1b[2Jb\""), "\(screen)")
    }

    /// Long names keep their ends, so two forks of one session stay apart; every cut shows "…".
    @Test func browserWithLongNames() {
        var s = Self.state()
        s.browser?.sessions = ["my-long-session-about-moving-to-lisbon-fork-1", "my-long-session-about-moving-to-lisbon-fork-2"].map {
            SessionSummary(name: $0, mode: "client", backend: "offline", policy: "summarize:12", turns: 3, messages: 6, bytes: 310, last_activity: 0, forked_from: nil)
        }
        let g = Views.render(s, layout: LayoutCache())
        let rows = (0..<g.height).map { g.row($0) }
        let fork1 = rows.first { $0.contains("my-long-se…on-fork-1") }, fork2 = rows.first { $0.contains("my-long-se…on-fork-2") }
        #expect(fork1 != nil && fork2 != nil, "\(g.text)")
        #expect(g.text.contains("client[summ…") && g.text.contains("Preview · my-long-session-about-moving-to-lisbo… "))
        // The date column depends on the time zone: the snapshot is of the rows without it.
        var masked = g
        for y in 4..<6 { masked.put(String(repeating: "#", count: 16), x: 2 + 21 + 13 + 7, y: y, style: .text) }
        assertSnapshot(masked, "browser-long-names-120x30")
        // At 80 columns the list is narrower than its rows: they end in "…", not mid-column.
        s.width = 80
        s.height = 24
        let narrow = Views.render(s, layout: LayoutCache())
        for y in 3..<6 { #expect(narrow.row(y).hasPrefix("│ ") && narrow.row(y).contains("…│"), "\(narrow.row(y))") }
    }

    @Test func browserKeys() {
        let cache = LayoutCache()
        var s = idleState()
        #expect(App.update(&s, .key(.f(4)), layout: cache) == [.browserSearch("")])
        _ = App.update(&s, .engine(.browserList(Self.state().browser!.sessions)), layout: cache)
        _ = App.update(&s, .engine(.browserPreview(name: "trip", messages: Fixture.messages, turns: Fixture.turns(.chain))), layout: cache)
        #expect(s.browser?.current?.name == "trip" && s.browser?.forkAt == Fixture.turns(.chain).last?.responseID)
        // Letters act on the list; after "/" they search.
        _ = App.update(&s, .key(.char("/")), layout: cache)
        #expect(App.update(&s, .key(.char("r")), layout: cache) == [.browserSearch("r")])
        _ = App.update(&s, .key(.escape), layout: cache)
        _ = App.update(&s, .key(.char("[")), layout: cache)
        _ = App.update(&s, .key(.char("[")), layout: cache)
        #expect(s.browser?.forkAt == Fixture.turns(.chain).first?.responseID)
        _ = App.update(&s, .key(.char("f")), layout: cache)
        _ = App.update(&s, .key(.ctrl("u")), layout: cache)
        for ch in "t2" { _ = App.update(&s, .key(.char(ch)), layout: cache) }
        #expect(App.update(&s, .key(.enter), layout: cache) == [.browserFork("trip", as: "t2", at: Fixture.turns(.chain).first!.responseID!)])
        _ = App.update(&s, .key(.char("d")), layout: cache)
        #expect(App.update(&s, .key(.char("n")), layout: cache).isEmpty && s.browser?.message == "not deleted")
        _ = App.update(&s, .key(.char("d")), layout: cache)
        // The open session cannot be deleted from under the screen.
        #expect(App.update(&s, .key(.char("s")), layout: cache).isEmpty && s.browser?.message == "trip is open: open another session first")
        #expect(App.update(&s, .key(.char("e")), layout: cache) == [.browserExport("trip")])
        _ = App.update(&s, .key(.char("r")), layout: cache)
        _ = App.update(&s, .key(.char("2")), layout: cache)
        #expect(App.update(&s, .key(.enter), layout: cache) == [.browserRename(from: "trip", to: "trip2")])
        #expect(App.update(&s, .key(.enter), layout: cache) == [.openSession("trip")])
        #expect(s.browser == nil)
    }
}

/// The frames a user sees while a third message streams, drawn with one layout cache for the whole
/// run as the app does: the pending message and the partial reply must be the ones just sent.
@Suite struct StreamingFrameTests {
    @Test func aThirdMessageStreamsAsItself() {
        let cache = LayoutCache()
        var s = idleState()
        s.width = 80
        s.height = 24
        let said = ["My name is Carl and I'm moving to Rome.", "I'm a pilot.", "What do you know about me?"]
        let replies = ["Nice to meet you, Carl! Noted: you're moving to Rome.", "Noted: you're a pilot.", "You're Carl, a pilot moving to Rome."]
        var id: Int64 = 1
        for (text, reply) in zip(said, replies) {
            for ch in text { _ = App.update(&s, .key(.char(ch)), layout: cache) }
            #expect(App.update(&s, .key(.enter), layout: cache) == [.send(text)])
            var frame = Views.render(s, layout: cache)   // the frame right after Enter
            #expect(frame.text.contains("you  " + text), "the pending message is not \(text):\n\(frame.text)")
            for word in reply.split(separator: " ").prefix(3) {
                _ = App.update(&s, .engine(.delta(String(word) + " ")), layout: cache)
                frame = Views.render(s, layout: cache)
            }
            let partial = reply.split(separator: " ").prefix(3).joined(separator: " ")
            #expect(frame.text.contains("bot  " + partial + " ▍"), "the reply shown is not the one arriving:\n\(frame.text)")
            if text == said.last { assertSnapshot(frame, "streaming-third-message-80x24") }
            let new = [ChatMessage(id: id, role: .user, text: text), ChatMessage(id: id + 1, role: .assistant, text: reply)]
            id += 2
            _ = App.update(&s, .engine(.turnRecorded(newMessages: new, turns: [], memory: emptyMemory(), session: s.session!, error: nil)), layout: cache)
            _ = Views.render(s, layout: cache)
        }
    }
}
