import ChatEngine
import Foundation

/// A thread-safe queue of events from engine tasks to the UI loop (curses is used from one thread).
final class Inbox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []
    func push(_ e: Event) { lock.lock(); events.append(e); lock.unlock() }
    func drain() -> [Event] {
        lock.lock(); defer { lock.unlock() }
        let out = events
        events.removeAll()
        return out
    }
}

/// Loads what the screen shows from the store.
public enum ScreenData {
    /// A session's messages after `after`, oldest first; with `last`, only the newest `last` of them.
    public static func messages(_ store: WorkbenchStore, session: Int64, after: Int64 = 0, last: Int? = nil) throws -> [ChatMessage] {
        try store.db.query("""
            SELECT * FROM (SELECT m.id, m.role, m.content, m.status, t.error_message FROM messages m LEFT JOIN turns t ON t.id = m.turn_id
            WHERE m.session_id = ? AND m.id > ? ORDER BY m.id DESC LIMIT ?) ORDER BY id
            """, [.integer(session), .integer(after), .integer(Int64(last ?? -1))]).map { r in
            let status = r[3].string ?? "complete"
            return ChatMessage(id: r[0].int64 ?? 0, role: r[1].string ?? "user", text: r[2].string ?? "", status: status,
                               note: status == "failed" && (r[1].string ?? "") == "user" ? r[4].string : nil)
        }
    }

    public static func load(_ store: WorkbenchStore, _ session: SessionRecord) throws -> EngineEvent {
        let turns = try store.turns(session: session.id)
        Trace.mark("turns loaded (\(turns.count))")
        let msgs = try messages(store, session: session.id)
        Trace.mark("messages loaded (\(msgs.count))")
        let memory = try store.memoryState(for: session, turns: turns)
        Trace.mark("memory state")
        return .sessionLoaded(session: session, messages: msgs, turns: turns, memory: memory)
    }
}

/// Runs the workbench screen: reads keys, runs effects off the UI path, coalesces frames to at most
/// 60 per second, and always restores the terminal.
public final class AppRuntime {
    let bench: Workbench
    let runner: Runner
    var state: AppState
    let layout = LayoutCache()
    let inbox = Inbox()
    var sendTask: Task<Void, Never>?
    let theme: Theme
    let noColor: Bool
    let themeError: String?
    /// Test hook (CHATBENCH_FAULT=draw): fail right after a frame, to prove the terminal is restored.
    let failAfterDrawing = ProcessInfo.processInfo.environment["CHATBENCH_FAULT"] == "draw"

    public init(bench: Workbench, session: SessionRecord, theme: Theme, themeError: String?, noColor: Bool) {
        self.bench = bench
        runner = Runner(store: bench.store, backend: bench.backend)
        self.theme = theme
        self.noColor = noColor
        self.themeError = themeError
        state = AppState(width: 80, height: 24, backend: bench.backend.info)
        state.session = session
    }

    /// Runs until the user quits or a signal arrives. Returns the exit code.
    public func run() -> Int32 {
        let terminal: CursesTerminal
        do {
            terminal = try CursesTerminal(theme: theme, noColor: noColor)
        } catch {
            FileHandle.standardError.write(Data("chatbench: \(error)\n".utf8))
            return 1
        }
        defer { terminal.restore() }
        Trace.mark("terminal ready")
        (state.width, state.height) = terminal.size
        if let s = state.session, let loaded = try? ScreenData.load(bench.store, s) {
            _ = App.update(&state, .engine(loaded), layout: layout)
        }
        state.history = (try? bench.store.db.query(
            "SELECT content FROM messages WHERE session_id = ? AND role = 'user' ORDER BY id DESC LIMIT 200",
            [.integer(state.session?.id ?? 0)]).reversed().compactMap { $0[0].string }) ?? []
        Trace.mark("session loaded")
        if let themeError { state.lastError = themeError }
        var lastFrame = DispatchTime(uptimeNanoseconds: 0)
        var dirty = true
        var quitting = false
        let frameInterval: UInt64 = 16_666_667
        while !quitting {
            if CursesTerminal.pendingSignal != 0 { break }
            // Draw first (the first frame must not wait for the input timeout), at most 60 frames a second.
            let now = DispatchTime.now()
            if dirty && now.uptimeNanoseconds - lastFrame.uptimeNanoseconds >= frameInterval {
                terminal.draw(Views.render(state, layout: layout))
                if lastFrame.uptimeNanoseconds == 0 { Trace.mark("first frame drawn") }
                // Test hook for the crash path: fail right after a frame, as a bug in drawing would.
                if failAfterDrawing { fatalError("CHATBENCH_FAULT=draw: a deliberate failure while drawing") }
                lastFrame = now
                dirty = false
            }
            if let input = terminal.read() {
                switch input {
                case .eof:
                    quitting = true
                case .event(let event):
                    if case .resize = event { terminal.invalidate() }
                    quitting = perform(App.update(&state, event, layout: layout), terminal) || quitting
                    dirty = true
                }
            }
            for event in inbox.drain() {
                quitting = perform(App.update(&state, event, layout: layout), terminal) || quitting
                dirty = true
            }
        }
        finishSend()
        return 0
    }

    /// Cancels a reply in flight and waits (briefly) until its interrupted turn is recorded.
    func finishSend() {
        guard let task = sendTask else { return }
        task.cancel()
        let done = DispatchSemaphore(value: 0)
        Task { await task.value; done.signal() }
        _ = done.wait(timeout: .now() + 3)
    }

    /// Runs effects; returns true to quit.
    @discardableResult
    func perform(_ effects: [Effect], _ terminal: CursesTerminal?) -> Bool {
        var quit = false
        for effect in effects {
            switch effect {
            case .quit: quit = true
            case .redraw: terminal?.invalidate()
            case .cancelStream: sendTask?.cancel()
            case .send(let text): send(text)
            case .switchMode(let mode, let policy): switchMode(mode, policy: policy)
            case .newSession(let name): openSession(name)
            case .openCompare: openCompare()
            case .compareSend(let text): compareSend(text)
            case .compareAddColumn(let column): addCompareColumn(column)
            case .compareCancel: for task in compareTasks { task.cancel() }
            case .browserSearch(let q): browserEvent { .browserList(try bench.store.listSessions(search: q.isEmpty ? nil : q)) }
            case .browserPreview(let name): browserEvent { try preview(name) }
            case .browserRename(let from, let to):
                let renamed = browserEvent {
                    try bench.store.renameSession(from, to: to)
                    if state.session?.name == from { state.session?.name = to }
                    return .browserList(try bench.store.listSessions(search: state.browser?.query.text.nilIfEmpty))
                }
                if renamed { state.browser?.message = "renamed \(from) → \(to)" }
            case .browserDelete(let name, let server): deleteSession(name, server: server)
            case .forkHere(let messageID): forkHere(messageID)
            case .browserExport(let name):
                browserEvent {
                    let dir = bench.paths.dataDirectory + "/exports"
                    try Paths.ensureDirectory(dir)
                    let md = dir + "/\(name).md", json = dir + "/\(name).json"
                    for (file, text) in [(md, try bench.store.exportMarkdown(name)), (json, try bench.store.exportJSON(name))] {
                        guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                            return .browserMessage("could not write \(file) (is the disk full or read-only?)")
                        }
                    }
                    return .browserMessage("exported to \(md) and .json")
                }
            case .browserFork(let name, let new, let at):
                let forked = browserEvent {
                    try bench.store.forkSession(name, at: at, as: new)
                    return .browserList(try bench.store.listSessions(search: state.browser?.query.text.nilIfEmpty))
                }
                if forked { state.browser?.message = "forked \(name) at \(at) as \(new)" }
            }
        }
        return quit
    }

    func send(_ text: String) {
        guard let session = state.session else { return }
        let lastID = state.messages.last?.id ?? 0
        let inbox = self.inbox
        let store = bench.store
        let runner = self.runner
        sendTask = Task.detached {
            var error: String?
            do {
                _ = try await runner.send(text, in: session.name) { inbox.push(.engine(.delta($0))) }
            } catch is CancellationError {
                error = nil
            } catch let f as TurnFailure {
                error = f.underlying
            } catch {
                inbox.push(.engine(.failure("\(error)")))
            }
            do {
                guard let s = try store.session(id: session.id) else { return }
                let turns = try store.turns(session: s.id)
                inbox.push(.engine(.turnRecorded(newMessages: try ScreenData.messages(store, session: s.id, after: lastID),
                                                 turns: turns, memory: try store.memoryState(for: s, turns: turns),
                                                 session: s, error: error)))
            } catch {
                inbox.push(.engine(.failure("could not read the store: \(error)")))
            }
        }
    }

    func switchMode(_ mode: MemoryMode, policy: String?) {
        guard var s = state.session else { return }
        if state.streaming != nil {
            state.notice = "wait for the reply (or Esc) before switching modes"
            return
        }
        s.mode = mode
        if let policy { s.policy = policy }
        do {
            try bench.store.save(s)
            let memory = try bench.store.memoryState(for: s)
            state.session = s
            state.memory = memory
            let what = mode == .client ? "\(mode.title) · policy \(s.policy)" : mode.title
            state.notice = "switched to \(what); the next turn carries what this mode's store lacks"
        } catch {
            state.lastError = "could not switch: \(error)"
        }
    }

    /// A session for a compare column, named after the comparison and the column.
    func compareSession(_ column: CompareColumn, prefix: String) throws -> CompareColumnState {
        CompareColumnState(column: column, session: try Comparison.makeSession(column, prefix: prefix, store: bench.store, backend: bench.backend.info))
    }

    var comparePrefix = ""
    /// The replies of the compare turn in flight (Esc cancels them).
    var compareTasks: [Task<Void, Never>] = []

    func openCompare() {
        do {
            let f = DateFormatter()
            f.dateFormat = "MMdd-HHmmss"
            comparePrefix = "compare-\(f.string(from: Date()))"
            let columns = try [CompareColumn(mode: .chain), CompareColumn(mode: .client)].map { try compareSession($0, prefix: comparePrefix) }
            _ = App.update(&state, .engine(.compareOpened(CompareViewState(columns: columns))), layout: layout)
        } catch {
            state.lastError = "could not open the comparison: \(error)"
        }
    }

    func addCompareColumn(_ column: CompareColumn) {
        guard var c = state.compare else { return }
        do {
            if let refusal = c.refusesColumn(column) { state.notice = refusal; return }
            let col = try compareSession(column, prefix: comparePrefix)
            c.columns.append(col)
            state.compare = c
            state.notice = "added \(column.label): it starts with no history"
        } catch {
            state.lastError = "\(error)"
        }
    }

    /// Sends to every column at once; each streams on its own, and one failing does not stop the rest.
    func compareSend(_ text: String) {
        guard let c = state.compare else { return }
        let store = bench.store
        let backend = bench.backend
        let inbox = self.inbox
        let number = c.turn
        compareTasks = c.columns.enumerated().map { i, col in
            let lastID = col.messages.last?.id ?? 0
            return Task.detached {
                let row = await Comparison.row(Runner(store: store, backend: backend), text, session: col.session, label: col.column.label,
                                               number: number, expect: nil) { inbox.push(.engine(.compareDelta(column: i, text: $0))) }
                var new: [ChatMessage] = []
                if let s = try? store.session(named: col.session) { new = (try? ScreenData.messages(store, session: s.id, after: lastID)) ?? [] }
                inbox.push(.engine(.compareTurn(column: i, row: row, newMessages: new)))
            }
        }
    }

    /// Runs a store query for the browser and feeds its result back as an engine event. False (and
    /// the error as the browser's message) when the query failed.
    @discardableResult
    func browserEvent(_ body: () throws -> EngineEvent) -> Bool {
        do {
            let event = try body()
            _ = perform(App.update(&state, .engine(event), layout: layout), nil)
            return true
        } catch {
            state.browser?.message = "\(error)"
            return false
        }
    }

    func preview(_ name: String) throws -> EngineEvent {
        guard let s = try bench.store.session(named: name) else { return .browserMessage("no session \(name)") }
        return .browserPreview(name: name, messages: try ScreenData.messages(bench.store, session: s.id, last: 12),
                               turns: try bench.store.recentTurns(session: s.id, limit: 12))
    }

    func deleteSession(_ name: String, server: Bool) {
        if name == state.session?.name {
            state.browser?.message = "\(name) is open: open another session first"
            return
        }
        let store = bench.store
        let inbox = self.inbox
        let backendName = (try? store.session(named: name))?.backend ?? "offline"
        let paths = bench.paths
        let env = ProcessInfo.processInfo.environment
        let current = bench
        Task.detached {
            var note = ""
            if server {
                do {
                    let backend = backendName == current.backend.info.name ? current.backend
                        : try Workbench(paths: paths, backendName: backendName, connection: .init(environment: env)).backend
                    let (responses, conversation) = try store.serverObjects(name)
                    var deleted = 0
                    for id in responses { if (try? await backend.deleteResponse(id: id)) != nil { deleted += 1 } }
                    if let c = conversation { _ = try? await backend.deleteConversation(id: c) }
                    note = " and \(deleted) stored responses\(conversation == nil ? "" : " and its conversation") on the server"
                } catch {
                    note = " (server objects not deleted: \(error))"
                }
            }
            do {
                try store.deleteSession(name)
                inbox.push(.engine(.browserList(try store.listSessions())))
                inbox.push(.engine(.browserMessage("deleted \(name)\(note)")))
            } catch {
                inbox.push(.engine(.browserMessage("could not delete \(name): \(error)")))
            }
        }
    }

    /// Forks the open session at a message and switches to the fork.
    func forkHere(_ messageID: Int64) {
        guard let s = state.session else { return }
        do {
            var n = 1
            while try bench.store.session(named: "\(s.name)-fork-\(n)") != nil { n += 1 }
            let fork = try bench.store.forkSession(s.name, at: "\(messageID)", as: "\(s.name)-fork-\(n)")
            _ = App.update(&state, .engine(try ScreenData.load(bench.store, fork)), layout: layout)
            state.history = []
            state.notice = "forked \(s.name) at m\(messageID) as \(fork.name); you are in the fork"
        } catch {
            state.lastError = "\(error)"
        }
    }

    func openSession(_ name: String) {
        do {
            let mode = state.session?.mode
            let s = try bench.openSession(name: name, options: .init(mode: mode))
            _ = App.update(&state, .engine(try ScreenData.load(bench.store, s)), layout: layout)
            state.history = []
            state.notice = "session \"\(name)\""
        } catch {
            state.lastError = "\(error)"
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
