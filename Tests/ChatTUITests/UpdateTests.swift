import Foundation
import ChatEngine
import Testing
@testable import ChatTUI

func idleState(mode: MemoryMode = .chain) -> AppState {
    var s = AppState(width: 120, height: 40, backend: BackendInfo(name: "offline", displayName: "offline backend", defaultModel: "offline-model", isOffline: true))
    s.session = SessionRecord(id: 1, name: "trip", mode: mode, backend: "offline", model: "offline-model", policy: "all", profile: "default",
                              chainHead: nil, chainCovers: 0, conversationID: nil, conversationCovers: 0, clientCovers: 0, clientDB: nil,
                              createdAt: 0, updatedAt: 0)
    return s
}

@Suite struct UpdateTests {
    let cache = LayoutCache()

    func type(_ s: inout AppState, _ text: String) {
        for ch in text { _ = App.update(&s, .key(.char(ch)), layout: cache) }
    }

    @Test func enterSendsAndClearsTheInput() {
        var s = idleState()
        type(&s, "hello 漢字")
        let effects = App.update(&s, .key(.enter), layout: cache)
        #expect(effects == [.send("hello 漢字")])
        #expect(s.input.isEmpty && s.streaming?.userText == "hello 漢字")
        #expect(s.history == ["hello 漢字"])
        // While a reply streams, each Enter queues its own message: they are sent one by one, as
        // turns are recorded, never run together.
        type(&s, "alpha")
        #expect(App.update(&s, .key(.enter), layout: cache).isEmpty)
        type(&s, "beta")
        #expect(App.update(&s, .key(.enter), layout: cache).isEmpty)
        #expect(s.input.isEmpty && s.queued == ["alpha", "beta"] && s.notice?.contains("queued 2") == true)
        type(&s, "draft")
        let recorded = EngineEvent.turnRecorded(newMessages: [], turns: [], memory: emptyMemory(), session: s.session!, error: nil)
        #expect(App.update(&s, .engine(recorded), layout: cache) == [.send("alpha")])
        #expect(s.streaming?.userText == "alpha" && s.queued == ["beta"] && s.input.text == "draft")
        #expect(App.update(&s, .engine(recorded), layout: cache) == [.send("beta")])
        #expect(App.update(&s, .engine(recorded), layout: cache).isEmpty && s.streaming == nil && s.input.text == "draft")
    }

    /// A turn whose session vanished (deleted by another process) ends the stream: the screen is usable.
    @Test func anAbandonedTurnFreesTheScreen() {
        var s = idleState()
        type(&s, "hello")
        _ = App.update(&s, .key(.enter), layout: cache)
        type(&s, "more")
        _ = App.update(&s, .key(.enter), layout: cache)
        _ = App.update(&s, .engine(.turnAbandoned("session \"trip\" no longer exists")), layout: cache)
        #expect(s.streaming == nil && s.lastError?.contains("no longer exists") == true)
        #expect(s.input.text == "hello\nmore" && s.queued.isEmpty)   // not sent into the void: back in the input
        // A turn that completed but could not be read back: only what was queued comes back.
        var done = idleState()
        type(&done, "sent")
        _ = App.update(&done, .key(.enter), layout: cache)
        type(&done, "queued")
        _ = App.update(&done, .key(.enter), layout: cache)
        _ = App.update(&done, .engine(.turnAbandoned("could not read the store", sent: true)), layout: cache)
        #expect(done.input.text == "queued" && done.streaming == nil)
        #expect(App.update(&s, .key(.ctrl("n")), layout: cache).isEmpty)
        guard case .newSession = s.overlay else { Issue.record("Ctrl-N works again"); return }
    }

    /// Ctrl-N waits for the reply in flight (it would be recorded in the session the screen left), and a
    /// turn recorded in another session than the screen's never takes the screen back to it.
    @Test func aNewSessionWaitsForTheReplyAndAStaleTurnDoesNotPullTheScreenBack() {
        var s = idleState()
        type(&s, "hello")
        _ = App.update(&s, .key(.enter), layout: cache)
        #expect(App.update(&s, .key(.ctrl("n")), layout: cache).isEmpty && s.overlay == .none)
        #expect(s.notice?.contains("wait for the reply") == true)
        var other = s.session!
        other.id += 1
        other.name = "elsewhere"
        let stale = EngineEvent.turnRecorded(newMessages: [], turns: [], memory: emptyMemory(), session: other, error: nil)
        let before = s.session
        _ = App.update(&s, .engine(stale), layout: cache)
        #expect(s.session == before && s.streaming == nil)
    }

    /// A failed turn in a Redis or Agents SDK session (Redis went down): the pane shows that session's
    /// items, which never got the message, so it comes back into the input, before what is typed now.
    /// In a chatbench session the transcript shows it, marked failed: the input is left alone.
    @Test func aFailedTurnInAnSDKSessionPutsTheMessageBack() {
        for sdk in [true, false] {
            var s = idleState()
            if sdk { s.session?.clientDB = "redis://127.0.0.1:6379/0" }
            type(&s, "I have a cat named Nube.")
            _ = App.update(&s, .key(.enter), layout: cache)
            type(&s, "typing")
            let failed = EngineEvent.turnRecorded(newMessages: [], turns: [], memory: emptyMemory(), session: s.session!, error: "Redis is down")
            #expect(App.update(&s, .engine(failed), layout: cache).isEmpty)
            #expect(s.streaming == nil && s.lastError == "Redis is down")
            #expect(s.input.text == (sdk ? "I have a cat named Nube.\ntyping" : "typing"), "sdk \(sdk): \(s.input.text)")
        }
    }

    @Test func emptyInputDoesNotSendAndPasteNeverSends() {
        var s = idleState()
        #expect(App.update(&s, .key(.enter), layout: cache).isEmpty)
        #expect(App.update(&s, .paste("line one\nline two\n"), layout: cache).isEmpty)
        #expect(s.input.text == "line one\nline two\n" && s.streaming == nil)
        _ = App.update(&s, .key(.ctrl("j")), layout: cache)
        _ = App.update(&s, .key(.altEnter), layout: cache)
        #expect(s.input.text.hasSuffix("\n\n\n"))
    }

    @Test func aHugePasteIsRefusedWithAClearMessage() {
        var s = idleState()
        type(&s, "keep me")
        #expect(App.update(&s, .paste(String(repeating: "x", count: 5_000_000)), layout: cache).isEmpty)
        #expect(s.input.text == "keep me" && s.notice?.contains("5.0 MB") == true && s.streaming == nil)
        _ = App.update(&s, .paste(String(repeating: "y", count: 900_000)), layout: cache)
        #expect(s.input.text.count == 900_007)
    }

    @Test func tabCyclesModesThroughTheEngine() {
        for (from, to) in [(MemoryMode.chain, MemoryMode.conversation), (.conversation, .client), (.client, .hybrid), (.hybrid, .layered), (.layered, .chain)] {
            var s = idleState(mode: from)
            #expect(App.update(&s, .key(.tab), layout: cache) == [.switchMode(to, policy: nil, serverPolicy: nil)])
        }
        var s = idleState()
        _ = App.update(&s, .key(.f(2)), layout: cache)
        #expect(s.overlay == .modePicker(selected: 0))
        for _ in 0..<6 { _ = App.update(&s, .key(.down), layout: cache) }
        #expect(App.update(&s, .key(.enter), layout: cache) == [.switchMode(.client, policy: "window:4", serverPolicy: nil)])
        #expect(s.overlay == .none)
    }

    @Test func escapeAndCtrlCCancelAStreamThenCtrlCTwiceQuits() {
        var s = idleState()
        type(&s, "hi")
        _ = App.update(&s, .key(.enter), layout: cache)
        #expect(App.update(&s, .key(.escape), layout: cache) == [.cancelStream])
        #expect(App.update(&s, .key(.escape), layout: cache).isEmpty)   // once is enough
        _ = App.update(&s, .engine(.turnRecorded(newMessages: [], turns: [], memory: s.memory ?? emptyMemory(), session: s.session!, error: nil)), layout: cache)
        #expect(s.streaming == nil && !s.cancelling)
        type(&s, "x")
        _ = App.update(&s, .key(.enter), layout: cache)
        #expect(App.update(&s, .key(.ctrl("c")), layout: cache) == [.cancelStream])
        _ = App.update(&s, .engine(.turnRecorded(newMessages: [], turns: [], memory: emptyMemory(), session: s.session!, error: nil)), layout: cache)
        #expect(App.update(&s, .key(.ctrl("c")), layout: cache).isEmpty)
        #expect(s.quitArmed)
        #expect(App.update(&s, .key(.ctrl("c")), layout: cache) == [.quit])
        var t = idleState()
        #expect(App.update(&t, .key(.ctrl("c")), layout: cache).isEmpty)
        _ = App.update(&t, .key(.char("a")), layout: cache)       // anything else disarms
        #expect(App.update(&t, .key(.ctrl("c")), layout: cache).isEmpty)
        #expect(App.update(&t, .key(.ctrl("q")), layout: cache) == [.quit])
    }

    @Test func deltasGrowTheStreamingReply() {
        var s = idleState()
        type(&s, "hi")
        _ = App.update(&s, .key(.enter), layout: cache)
        _ = App.update(&s, .engine(.delta("Hello ")), layout: cache)
        _ = App.update(&s, .engine(.delta("there")), layout: cache)
        #expect(s.streaming?.reply == "Hello there" && s.streaming?.revision == 2)
        #expect(s.displayMessages.last?.status == .streaming)
        // Typing while a reply streams is kept.
        type(&s, "draft")
        _ = App.update(&s, .engine(.turnRecorded(newMessages: [ChatMessage(id: 1, role: .user, text: "hi"), ChatMessage(id: 2, role: .assistant, text: "Hello there")],
                                                 turns: [], memory: emptyMemory(), session: s.session!, error: nil)), layout: cache)
        #expect(s.input.text == "draft" && s.messages.count == 2)
    }

    @Test func historyRecallWithUpAndDown() {
        var s = idleState()
        for text in ["one", "two"] {
            type(&s, text)
            _ = App.update(&s, .key(.enter), layout: cache)
            _ = App.update(&s, .engine(.turnRecorded(newMessages: [], turns: [], memory: emptyMemory(), session: s.session!, error: nil)), layout: cache)
        }
        type(&s, "dra")
        _ = App.update(&s, .key(.up), layout: cache)
        #expect(s.input.text == "two")
        _ = App.update(&s, .key(.up), layout: cache)
        _ = App.update(&s, .key(.up), layout: cache)
        #expect(s.input.text == "one")
        _ = App.update(&s, .key(.down), layout: cache)
        #expect(s.input.text == "two")
        _ = App.update(&s, .key(.down), layout: cache)
        #expect(s.input.text == "dra")
    }

    @Test func editingKeysFromTheTable() {
        var s = idleState()
        type(&s, "hello big world")
        _ = App.update(&s, .key(.ctrl("w")), layout: cache)
        #expect(s.input.text == "hello big ")
        _ = App.update(&s, .key(.ctrl("a")), layout: cache)
        _ = App.update(&s, .key(.ctrl("k")), layout: cache)
        #expect(s.input.text == "")
        type(&s, "abc")
        _ = App.update(&s, .key(.ctrl("u")), layout: cache)
        #expect(s.input.isEmpty)
        _ = App.update(&s, .key(.char("?")), layout: cache)
        #expect(s.overlay == .help)
        _ = App.update(&s, .key(.escape), layout: cache)
        type(&s, "why?")
        #expect(s.input.text == "why?" && s.overlay == .none)
    }

    @Test func scrollKeys() {
        var s = idleState()
        s.messages = (0..<200).map { ChatMessage(id: Int64($0), role: $0 % 2 == 0 ? .user : .assistant, text: "m\($0)") }
        _ = App.update(&s, .key(.pageUp), layout: cache)
        guard case .anchored = s.scroll else { Issue.record("PgUp should anchor"); return }
        _ = App.update(&s, .key(.end), layout: cache)
        #expect(s.scroll == .follow)
        _ = App.update(&s, .key(.home), layout: cache)
        #expect(s.scroll == .anchored(message: 0, line: 0))
        _ = App.update(&s, .key(.wheelDown), layout: cache)
        #expect(s.scroll == .anchored(message: 1, line: 1))
    }

    @Test func helpAndFooterComeFromTheKeyTable() {
        #expect(Views.helpRows().count == KeyTable.bindings.count)
        for b in KeyTable.bindings { #expect(KeyTable.action(for: b.keys[0]) == b.action) }
        let g = Views.render(idleState(), layout: cache)
        for (label, word) in KeyTable.footerHints { #expect(g.row(39).contains("\(label) \(word)")) }
        // Narrow: the least essential hints go first; help and quit stay.
        let narrow = KeyTable.footerHints(width: 60).map(\.1)
        #expect(narrow.contains("help") && narrow.contains("quit") && narrow.contains("send") && !narrow.contains("new"))
    }

    @Test func forkAtTheTopMessageOrTheNewest() {
        var s = idleState()
        #expect(App.update(&s, .key(.ctrl("f")), layout: cache).isEmpty && s.notice == "nothing to fork yet")
        s.messages = (1...60).map { ChatMessage(id: Int64($0), role: $0 % 2 == 1 ? .user : .assistant, text: "m\($0)") }
        _ = App.update(&s, .key(.ctrl("f")), layout: cache)
        #expect(App.update(&s, .key(.enter), layout: cache) == [.forkHere(messageID: 60)])
        _ = App.update(&s, .key(.home), layout: cache)
        _ = App.update(&s, .key(.ctrl("f")), layout: cache)
        #expect(App.update(&s, .key(.enter), layout: cache) == [.forkHere(messageID: 1)])
    }

    /// Time is an input: the new session's default name comes from the clock event, in the state's zone.
    @Test func theClockIsAnEvent() {
        var s = AppState(width: 120, height: 40, backend: idleState().backend, timeZone: TimeZone(identifier: "Asia/Tokyo")!)
        s.session = idleState().session
        _ = App.update(&s, .clock(Date(timeIntervalSince1970: 0)), layout: cache)
        _ = App.update(&s, .key(.ctrl("n")), layout: cache)
        #expect(s.overlay == .newSession(InputEditor("session-0101-090000", selected: true)))
    }

    @Test func newSessionPrompt() {
        var s = idleState()
        _ = App.update(&s, .key(.ctrl("n")), layout: cache)
        guard case .newSession = s.overlay else { Issue.record("prompt"); return }
        _ = App.update(&s, .key(.ctrl("u")), layout: cache)
        for ch in "work" { _ = App.update(&s, .key(.char(ch)), layout: cache) }
        #expect(App.update(&s, .key(.enter), layout: cache) == [.newSession("work")])
    }

    /// PgDn in the help moves a page (the rows the box shows), so the next page starts right after
    /// the last row seen; PgUp comes back to the top.
    @Test func helpPagesByItsHeight() {
        var s = idleState()
        s.width = 80
        s.height = 24
        s.overlay = .help
        func range() -> String? {
            let text = Views.render(s, layout: cache).text
            guard let r = text.range(of: #"rows \d+–\d+ of"#, options: .regularExpression) else { return nil }
            return String(text[r])
        }
        let page = Views.helpLayout(width: 80, height: 24).shown
        #expect(page > 10 && range() == "rows 1–\(page) of")
        _ = App.update(&s, .key(.pageDown), layout: cache)
        #expect(s.helpScroll == page && range()?.hasPrefix("rows \(page + 1)–") == true)
        _ = App.update(&s, .key(.pageUp), layout: cache)
        #expect(s.helpScroll == 0 && range() == "rows 1–\(page) of")
    }

    /// A blank name is refused in the dialog with the store's own message (the one check of names).
    @Test func aBlankNameIsRefusedInTheDialog() {
        var s = idleState()
        _ = App.update(&s, .key(.ctrl("n")), layout: cache)
        type(&s, "   ")
        #expect(App.update(&s, .key(.enter), layout: cache).isEmpty)
        #expect(s.notice == WorkbenchStore.sessionNameProblem("") && s.notice != nil)
        guard case .newSession = s.overlay else { Issue.record("the dialog stays open"); return }
    }

    /// The default name is offered as selected text: the first character typed replaces it.
    @Test func typingReplacesTheDefaultName() {
        var s = idleState()
        _ = App.update(&s, .key(.ctrl("n")), layout: cache)
        type(&s, "work")
        #expect(App.update(&s, .key(.enter), layout: cache) == [.newSession("work")])
        // A paste replaces it too.
        _ = App.update(&s, .key(.ctrl("n")), layout: cache)
        _ = App.update(&s, .paste("trip 2"), layout: cache)
        #expect(App.update(&s, .key(.enter), layout: cache) == [.newSession("trip 2")])
    }

    /// An editing key first keeps the default and edits it as usual: Backspace, Left, Home.
    @Test func editingKeysKeepTheDefaultName() {
        var s = idleState()
        _ = App.update(&s, .key(.ctrl("n")), layout: cache)
        guard case .newSession(let e0) = s.overlay else { Issue.record("prompt"); return }
        let name = e0.text
        _ = App.update(&s, .key(.backspace), layout: cache)
        type(&s, "x")
        #expect(App.update(&s, .key(.enter), layout: cache) == [.newSession(String(name.dropLast()) + "x")])
        _ = App.update(&s, .key(.ctrl("n")), layout: cache)
        _ = App.update(&s, .key(.left), layout: cache)
        type(&s, "y")
        #expect(App.update(&s, .key(.enter), layout: cache) == [.newSession(String(name.dropLast()) + "y" + String(name.last!))])
        _ = App.update(&s, .key(.ctrl("n")), layout: cache)
        _ = App.update(&s, .key(.home), layout: cache)
        type(&s, "my-")
        #expect(App.update(&s, .key(.enter), layout: cache) == [.newSession("my-" + name)])
    }
}

func emptyMemory(_ mode: MemoryMode = .chain) -> MemoryState {
    MemoryState(mode: mode, policy: "all", profile: "default", serverItems: nil, serverTurns: 0, chainHead: nil, conversationID: nil,
                transcriptMessages: 0, clientItems: 0, facts: 0, last: nil, lastCompleted: nil, turns: 0, totalBytes: 0,
                totalInputTokens: 0, totalCachedTokens: 0, totalOutputTokens: 0)
}

@Suite struct PickerTests {
    /// Any window, budget or summarize number can be chosen, and a session on window:2 is marked.
    @Test func pickerSetsPolicyNumbers() {
        let cache = LayoutCache()
        var s = Fixture.state(.client, width: 100, height: 30)
        s.session?.policy = "window:2"
        _ = App.update(&s, .key(.f(2)), layout: cache)
        #expect(s.overlay == .modePicker(selected: 6) && s.policyNumbers.window == 2)
        let g = Views.render(s, layout: cache)
        assertSnapshot(g, "picker-window2-100x30")
        #expect(g.text.contains("● client               window:2"))
        _ = App.update(&s, .key(.right), layout: cache)
        #expect(App.update(&s, .key(.enter), layout: cache) == [.switchMode(.client, policy: "window:3", serverPolicy: nil)])
        _ = App.update(&s, .key(.f(2)), layout: cache)
        _ = App.update(&s, .key(.down), layout: cache)
        _ = App.update(&s, .key(.down), layout: cache)   // summarize
        _ = App.update(&s, .key(.backspace), layout: cache)
        _ = App.update(&s, .key(.char("4")), layout: cache)
        #expect(App.update(&s, .key(.enter), layout: cache) == [.switchMode(.client, policy: "summarize:4", serverPolicy: nil)])
        _ = App.update(&s, .key(.f(2)), layout: cache)
        _ = App.update(&s, .key(.down), layout: cache)   // budget
        for _ in 0..<3 { _ = App.update(&s, .key(.left), layout: cache) }
        #expect(App.update(&s, .key(.enter), layout: cache) == [.switchMode(.client, policy: "budget:700", serverPolicy: nil)])
        #expect(PolicyNumbers(from: "summarize:1").summarize == 6)   // below the minimum: the default
    }
}

@Suite struct ForkTests {
    /// A fork made at turn 1 is marked under turn 1, not after the newest turn.
    @Test func theForkMarkerSitsAtTheForkPoint() {
        var s = Fixture.state(.chain, width: 120, height: 40)
        let first = Fixture.turns(.chain)[0]
        s.memory?.forks = ["trip-early@\(first.responseID!)", "trip-m4@m4"]
        let lines = Views.chainLines(s, width: 40, height: 30).map(\.text)
        let early = lines.firstIndex { $0.contains("forked as trip-early") }, m4 = lines.firstIndex { $0.contains("forked as trip-m4") }
        let turn2 = lines.firstIndex { $0.contains(" t2 ") }, turn3 = lines.firstIndex { $0.contains(" t3 ") }
        #expect(early != nil && turn2 != nil && early! < turn2!, "\(lines)")
        #expect(m4 != nil && turn3 != nil && m4! > turn2! && m4! < turn3!, "\(lines)")   // message 4 is turn 2's reply
    }

    /// Ctrl-F when the whole conversation fits: Up picks an earlier message, Enter forks there.
    @Test func ctrlFPicksAnEarlyMessageOnAShortConversation() {
        let cache = LayoutCache()
        var s = Fixture.state(.chain, width: 120, height: 40)
        #expect(App.update(&s, .key(.ctrl("f")), layout: cache).isEmpty)
        #expect(s.overlay == .forkPick(5))
        for _ in 0..<4 { _ = App.update(&s, .key(.up), layout: cache) }
        let g = Views.render(s, layout: cache)
        let marked = (0..<g.height).first { g.row($0).contains("│⑂bot Nice") }
        #expect(marked != nil && g.row(marked!).contains("Nice to meet you, Priya!"), "\(g.text)")
        #expect(g.text.contains("fork at m2"))
        #expect(App.update(&s, .key(.enter), layout: cache) == [.forkHere(messageID: 2)])
        #expect(s.overlay == .none)
        _ = App.update(&s, .key(.ctrl("f")), layout: cache)
        #expect(App.update(&s, .key(.escape), layout: cache).isEmpty && s.overlay == .none)
    }
}

/// Browser effects against a real store.
@Suite struct BrowserRuntimeTests {
    @Test func renamingOntoAnExistingNameSaysSo() throws {
        let home = NSTemporaryDirectory() + "cb-rt-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: home) }
        let bench = try Workbench(paths: Paths(environment: ["CHATBENCH_HOME": home]), backendName: "offline")
        let trip = try bench.store.createSession(name: "trip", mode: .chain, backend: "offline", model: "offline-model")
        _ = try bench.store.createSession(name: "work", mode: .chain, backend: "offline", model: "offline-model")
        let runtime = AppRuntime(bench: bench, session: trip, theme: Theme.builtin("default")!, themeError: nil, noColor: true)
        runtime.apply(.key(.f(4)), nil)   // the browser opens (and lists the sessions)
        #expect(runtime.state.browser?.sessions.count == 2)
        // perform reports what happened as events; only apply changes the state.
        let refused = runtime.perform(.browserRename(from: "trip", to: "work"), nil)
        #expect(runtime.state.browser?.message == nil)
        for e in refused { runtime.apply(e, nil) }
        #expect(runtime.state.browser?.message?.contains("already exists") == true, "\(runtime.state.browser?.message ?? "nil")")
        #expect(try bench.store.session(named: "trip") != nil)
        for e in runtime.perform(.browserRename(from: "trip", to: "travel"), nil) { runtime.apply(e, nil) }
        #expect(runtime.state.browser?.message == "renamed trip → travel")
        #expect(runtime.state.session?.name == "travel")
    }

    /// The server modes' compaction threshold and truncation are chosen in the same picker; a session
    /// on compact:N is marked with its number, and the choice is sent as the server policy.
    @Test func pickerSetsTheServerPolicy() {
        let cache = LayoutCache()
        var s = Fixture.state(.chain, width: 100, height: 30)
        s.session?.serverPolicy = "compact:3000"
        _ = App.update(&s, .key(.f(2)), layout: cache)
        #expect(s.overlay == .modePicker(selected: 1) && s.policyNumbers.compact == 3000)
        let g = Views.render(s, layout: cache)
        assertSnapshot(g, "picker-compact-100x30")
        #expect(g.text.contains("● server chain         + compact:3000 tokens"))
        _ = App.update(&s, .key(.right), layout: cache)
        #expect(App.update(&s, .key(.enter), layout: cache) == [.switchMode(.chain, policy: nil, serverPolicy: "compact:4000")])
        _ = App.update(&s, .key(.f(2)), layout: cache)
        _ = App.update(&s, .key(.down), layout: cache)   // truncate:auto
        #expect(App.update(&s, .key(.enter), layout: cache) == [.switchMode(.chain, policy: nil, serverPolicy: "truncate:auto")])
        _ = App.update(&s, .key(.f(2)), layout: cache)
        _ = App.update(&s, .key(.up), layout: cache)     // plain chain: no server policy
        #expect(App.update(&s, .key(.enter), layout: cache) == [.switchMode(.chain, policy: nil, serverPolicy: "none")])
        _ = App.update(&s, .key(.f(2)), layout: cache)
        for _ in 0..<3 { _ = App.update(&s, .key(.down), layout: cache) }   // conversation + compact
        for ch in "999" { _ = App.update(&s, .key(.char(ch)), layout: cache) }   // typed over the 3000 shown, not appended
        #expect(s.policyNumbers.compact == 999)
        // Below the API's minimum of 1,000 tokens: the minimum is sent.
        #expect(App.update(&s, .key(.enter), layout: cache) == [.switchMode(.conversation, policy: nil, serverPolicy: "compact:1000")])
    }
}
