import ChatEngine
import ChatTUI
import Foundation

/// Screen figures: the real binary on a pseudo-terminal (launch, open, memory, rest, a turn), and frames
/// rendered in process (scrolling, paging, streaming).
extension BenchCommand {
    /// The chatbench binary that is running (the child is the same build).
    static func ownBinary() throws -> String {
        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        guard n > 0 else { throw ConfigurationError("cannot find the chatbench binary") }
        return String(decoding: exe.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func childEnv(home: String, tmp: String) -> [String] {
        ["CHATBENCH_HOME=\(home)", "XDG_CONFIG_HOME=\(tmp)/config", "TERM=xterm-256color", "LANG=C.UTF-8", "HOME=\(tmp)",
         "PATH=/usr/bin:/bin", "CHATBENCH_STREAM_DELAY_MS=0"] + (ProcessInfo.processInfo.environment["CHATBENCH_TRACE"].map { ["CHATBENCH_TRACE=\($0)"] } ?? [])
    }

    /// Spawn → the text `marker` on screen, and the child's peak RSS, `runs` times.
    static func launch(home: String, tmp: String, args: [String] = [], marker: String, runs: Int) throws -> ([Double], [Double]) {
        let binary = try ownBinary()
        var times: [Double] = [], rss: [Double] = []
        for _ in 0..<runs {
            let child = try PtyChild(binary: binary, args: args, env: childEnv(home: home, tmp: tmp))
            times.append(try child.waitFor(marker))
            rss.append(child.peakRSS())
            child.quit()
        }
        return (times, rss)
    }

    /// Wake-ups (context switches of all threads) of a screen left alone for `seconds`, scaled to 60 s.
    static func idleWakeups(home: String, tmp: String, seconds: Double, runs: Int) throws -> [Double] {
        let binary = try ownBinary()
        return try (0..<runs).map { _ in
            let child = try PtyChild(binary: binary, env: childEnv(home: home, tmp: tmp))
            defer { child.quit() }
            _ = try child.waitFor("Ctrl-Q")
            child.drain(seconds: 0.5)   // let the first frame settle
            let before = child.contextSwitchesByThread()
            child.drain(seconds: seconds)
            // The program's threads only: libdispatch's manager is left out (see contextSwitchesByThread).
            let woke = child.contextSwitchesByThread().reduce(0) { sum, t in
                guard let b = before[t.key], !b.dispatchManager, !t.value.dispatchManager else { return sum }
                return sum + t.value.switches - b.switches
            }
            return Double(woke) * 60 / seconds
        }
    }

    /// Enter → the reply drawn, through the screen, in a session whose chain is `depth` turns deep.
    /// curses writes only the cells that change, so the reply must differ from the last one in every
    /// cell to be seen whole in the output: each turn gives a new name (eight of one letter, lower
    /// case) that the reply greets capitalised, which the echo of the question never shows.
    static func turnThroughScreen(home: String, tmp: String, depth: Int, reps: Int) throws -> [Double] {
        let child = try PtyChild(binary: try ownBinary(), env: childEnv(home: home, tmp: tmp))
        defer { child.quit() }
        _ = try child.waitFor("Ctrl-Q")
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        return try (0..<reps).map { i in
            let name = String(repeating: letters[i % 26], count: 8)
            child.type("My name is \(name).")
            child.drain(seconds: 0.05)
            let sent = child.type("\r")
            return try child.waitFor(name.prefix(1).uppercased() + name.dropFirst(), since: sent)
        }
    }

    /// One frame after a scroll: page up (new messages to lay out each time), then render the grid.
    static func render(messages n: Int, reps: Int) -> [Double] {
        var state = screenState(messages: n)
        let cache = LayoutCache()
        _ = Views.render(state, layout: cache)
        var out: [Double] = []
        for _ in 0..<reps {
            out.append(ms {
                _ = App.update(&state, .key(.pageUp), layout: cache)
                _ = Views.render(state, layout: cache)
            })
        }
        return out
    }

    /// A key on a screen open on a stored session, with the pages it asks for read from the store, then
    /// the frame: PgUp (`home: false`) or Home then End then Home (`home: true`, the far end each time).
    static func pageKey(store: WorkbenchStore, session name: String, home: Bool, reps: Int) throws -> [Double] {
        guard let session = try store.session(named: name) else { throw ConfigurationError("no bench session \(name)") }
        var state = screenState(messages: 0)
        state.session = session
        let cache = LayoutCache()
        _ = App.update(&state, .engine(try ScreenData.load(store, session)), layout: cache)
        _ = Views.render(state, layout: cache)
        return try (0..<reps).map { i in
            try ms {
                let key: Key = home ? (i % 2 == 0 ? .home : .end) : .pageUp
                try ScreenData.perform(App.update(&state, .key(key), layout: cache), &state, store: store, layout: cache)
                _ = Views.render(state, layout: cache)
            }
        }
    }

    /// A frame after one delta at the end of a reply already `replyBytes` long (10,000-message session).
    static func streamFrame(replyBytes: Int, reps: Int) -> [Double] {
        var state = screenState(messages: 10_000)
        let cache = LayoutCache()
        var reply = ""
        var line = 0
        while reply.utf8.count < replyBytes {
            reply += line % 9 == 8 ? "\n" : "Line \(line): pack layers, comfortable shoes, chargers and your **travel documents**.\n"
            line += 1
        }
        state.streaming = StreamState(userText: "What should I pack?", reply: reply, revision: 1)
        _ = Views.render(state, layout: cache)
        return (0..<reps).map { i in
            ms {
                _ = App.update(&state, .engine(.delta("word\(i) ")), layout: cache)
                _ = Views.render(state, layout: cache)
            }
        }
    }

    static func screenState(messages n: Int) -> AppState {
        var s = AppState(width: 120, height: 40, backend: BackendInfo(name: "offline", displayName: "offline backend", defaultModel: "offline-model", isOffline: true))
        s.session = SessionRecord(id: 1, name: "bench", mode: .chain, backend: "offline", model: "offline-model", policy: "all", profile: "default",
                                  chainCovers: 0, conversationCovers: 0, clientCovers: 0, createdAt: 0, updatedAt: 0)
        s.messages = (0..<n).map { (i: Int) -> ChatMessage in
            let user = i % 2 == 0
            let text: String = user ? "Message \(i): what should I pack for \(i % 7 + 1) days? 漢字 😀"
                                    : "For your trip: pack layers, comfortable shoes, chargers and your **travel documents**. (\(i))"
            return ChatMessage(id: Int64(i + 1), role: user ? .user : .assistant, text: text)
        }
        s.turns = (0..<Swift.min(n / 2, 64)).map { i in
            TurnRecord(sessionID: 1, number: i + 1, mode: .chain, backend: "offline", model: "offline-model", previousResponseID: "resp_\(i)",
                       responseID: "resp_\(i + 1)", itemsSent: 1, requestBytes: 180, inputTokens: 40 * i, outputTokens: 30, status: .completed,
                       chainEvent: .continue, createdAt: 0)
        }
        s.memory = MemoryState(mode: .chain, policy: "all", profile: "default", serverItems: n, serverTurns: n / 2, transcriptMessages: n,
                               clientItems: 0, facts: 0, last: s.turns.last, lastCompleted: s.turns.last, turns: n / 2, totalBytes: 180 * n / 2,
                               totalInputTokens: 1000, totalCachedTokens: 0, totalOutputTokens: 1000)
        return s
    }
}
