import ChatEngine
import Foundation

/// A thread-safe queue of events from engine tasks to the UI loop (curses is used from one thread).
final class Inbox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []
    /// Wakes the screen's loop when an event arrives (nil in tests without a loop).
    var wake: WakePipe?
    func push(_ e: Event) {
        lock.lock(); events.append(e); lock.unlock()
        wake?.wake()
    }
    func drain() -> [Event] {
        lock.lock(); defer { lock.unlock() }
        let out = events
        events.removeAll()
        return out
    }
}

/// Loads what the screen shows from the store: pages, never whole sessions.
public enum ScreenData {
    /// Turns the chain panel may show (it shows the newest that fit).
    public static let chainPanelTurns = 64

    static func chatMessages(_ rows: [TranscriptRow]) -> [ChatMessage] {
        rows.map { ChatMessage(id: $0.id, role: $0.role, text: $0.text, status: $0.status, note: $0.note) }
    }

    /// Rows after `after` (a turn just recorded, or written by another process), oldest first.
    public static func messages(_ store: WorkbenchStore, session: SessionRecord, after: Int64) throws -> [ChatMessage] {
        chatMessages(try store.transcript(session, after == 0 ? .last(App.pageSize) : .after(after, App.windowLimit)).rows)
    }

    /// What another process added to the session since the pane's last message (nil: the session is gone).
    public static func changes(_ store: WorkbenchStore, session id: Int64, after lastMessage: Int64) throws -> EngineEvent? {
        guard let s = try store.session(id: id) else { return nil }
        return .sessionChanged(newMessages: try messages(store, session: s, after: lastMessage),
                               turns: try store.recentTurns(session: s.id, limit: chainPanelTurns),
                               memory: try store.memoryState(for: s), session: s)
    }

    /// Reads a page the screen asked for and feeds it back; returns what the update asks next.
    public static func loadPage(_ page: TranscriptPage, _ state: inout AppState, store: WorkbenchStore, layout: LayoutCache) throws -> [Effect] {
        guard let s = state.session else { return [] }
        let (rows, more) = try store.transcript(s, page)
        return App.update(&state, .engine(.pageLoaded(page, messages: chatMessages(rows), more: more)), layout: layout)
    }

    /// Carries out the page reads among `effects` (and the reads they lead to); other effects are the
    /// runtime's and are ignored here (bench, tests).
    public static func perform(_ effects: [Effect], _ state: inout AppState, store: WorkbenchStore, layout: LayoutCache) throws {
        var pending = effects
        while !pending.isEmpty {
            if case .loadPage(let page) = pending.removeFirst() { pending += try loadPage(page, &state, store: store, layout: layout) }
        }
    }

    /// A session as the first frame needs it: the last page of messages, the newest turns, the memory.
    public static func load(_ store: WorkbenchStore, _ session: SessionRecord) throws -> EngineEvent {
        let turns = try store.recentTurns(session: session.id, limit: chainPanelTurns)
        Trace.mark("turns loaded (\(turns.count))")
        let page = try store.transcript(session, .last(App.pageSize))
        Trace.mark("messages loaded (\(page.rows.count))")
        let memory = try store.memoryState(for: session)
        Trace.mark("memory state")
        return .sessionLoaded(session: session, messages: chatMessages(page.rows), turns: turns, memory: memory, olderAvailable: page.more)
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
        state.history = (try? bench.store.recentUserTexts(session: state.session?.id ?? 0, limit: 200)) ?? []
        Trace.mark("session loaded")
        if let themeError { state.lastError = themeError }
        var stats = LoopStats()
        defer { stats.write(to: ProcessInfo.processInfo.environment["CHATBENCH_LOOP_STATS"]) }
        guard let wake = WakePipe() else {
            terminal.restore()
            FileHandle.standardError.write(Data("chatbench: cannot create the screen's wake-up pipe: \(String(cString: strerror(errno)))\n".utf8))
            return 1
        }
        inbox.wake = wake
        CursesTerminal.setWakeDescriptor(wake.writeFD)
        let watch = FileWatch(files: watchedFiles())
        seenDataVersions = dataVersions()
        var lastFrame: UInt64 = 0
        var dirty = true
        var quitting = false
        var emptyReads = 0
        /// When to look at the files again after another process wrote (writes come in bursts).
        var checkDue: UInt64?
        let frameInterval: UInt64 = 16_666_667
        func handle(_ event: Event) {
            quitting = perform(App.update(&state, event, layout: layout), terminal) || quitting
            dirty = true
        }
        // Event-driven: block in poll(2) on the keys, the wake-up pipe (engine events, signals) and the
        // file watch; draw only after something changed, at most 60 frames a second. At rest nothing runs.
        while !quitting {
            if CursesTerminal.pendingSignal != 0 { break }
            let now = DispatchTime.now().uptimeNanoseconds
            if dirty && now - lastFrame >= frameInterval {
                terminal.draw(Views.render(state, layout: layout))
                stats.frames += 1
                if lastFrame == 0 { Trace.mark("first frame drawn") }
                // Test hook for the crash path: fail right after a frame, as a bug in drawing would.
                if failAfterDrawing { fatalError("CHATBENCH_FAULT=draw: a deliberate failure while drawing") }
                lastFrame = now
                dirty = false
            }
            var wait: Int64 = -1
            if dirty { wait = Int64(lastFrame + frameInterval) - Int64(now) }
            if let due = checkDue { wait = wait < 0 ? Int64(due) - Int64(now) : min(wait, Int64(due) - Int64(now)) }
            if watch == nil && wait < 0 { wait = 1_000_000_000 }   // no inotify: look once a second instead
            var fds = [pollfd(fd: terminal.inputDescriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: watch?.fd ?? -1, events: Int16(POLLIN), revents: 0)]
            let timeoutMs = wait < 0 ? Int32(-1) : Int32(min(Int64(Int32.max), max(1, (wait + 999_999) / 1_000_000)))
            _ = poll(&fds, nfds_t(fds.count), timeoutMs)
            stats.iterations += 1
            if fds[1].revents != 0 { wake.drain() }
            if let resize = terminal.pendingResize() { handle(resize) }
            if fds[0].revents != 0 {
                var got = 0
                while let input = terminal.read() {
                    got += 1
                    switch input {
                    case .eof: quitting = true
                    case .event(let event): handle(event)
                    }
                    if quitting { break }
                }
                // Readable yet nothing to read, again and again: the terminal is gone.
                emptyReads = got == 0 ? emptyReads + 1 : 0
                if emptyReads > 3 || (got == 0 && fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0) { quitting = true }
            }
            for event in inbox.drain() { handle(event) }
            let after = DispatchTime.now().uptimeNanoseconds
            if let watch, fds[2].revents != 0, watch.drain(), checkDue == nil { checkDue = after + 50_000_000 }
            if watch == nil && checkDue == nil { checkDue = after + 1_000_000_000 }
            if let due = checkDue, after >= due {
                checkDue = nil
                if refreshIfChangedElsewhere() { dirty = true }
            }
        }
        finishSend()
        return 0
    }

    /// `PRAGMA data_version` of the workbench file and of the session's Agents SDK file (if any) when the
    /// pane was last brought up to date.
    var seenDataVersions: [Int64] = []

    /// The database files whose writes by other processes the screen shows.
    func watchedFiles() -> [String] {
        [bench.store.db.path] + [state.session?.clientDB].compactMap { $0 }
    }

    /// The session's Agents SDK file, held open while the screen shows it (so its data_version means something).
    var agentDatabase: Database?

    func dataVersions() -> [Int64] {
        if let s = state.session, let file = s.clientDB, agentDatabase?.path != file {
            agentDatabase = try? Database.open(path: file, migrations: [], refuseNewer: false, createFolder: false)
        }
        return [bench.store.db, agentDatabase].compactMap { try? $0?.dataVersion() }
    }

    /// Shows what other processes (`send`, `serve`, another screen, an agent on the SDK file) wrote to the
    /// open session, without a restart. Runs when the file watch saw a write, and only while no turn of
    /// this screen is in flight (that turn's own record brings every row up to date); `data_version`
    /// makes it one cheap pragma when nothing changed. Returns true when the state changed.
    func refreshIfChangedElsewhere() -> Bool {
        guard state.streaming == nil, let session = state.session else { return false }
        let versions = dataVersions()
        guard versions != seenDataVersions else { return false }
        seenDataVersions = versions
        do {
            guard let event = try ScreenData.changes(bench.store, session: session.id, after: state.messages.last?.id ?? 0) else {
                state.lastError = "session \"\(session.name)\" was deleted by another chatbench"
                return true
            }
            _ = App.update(&state, .engine(event), layout: layout)
        } catch {
            state.lastError = "could not read the store: \(error)"
        }
        return true
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
            case .loadPage(let page):
                do {
                    quit = perform(try ScreenData.loadPage(page, &state, store: bench.store, layout: layout), terminal) || quit
                } catch {
                    state.lastError = "could not read the transcript: \(error)"
                }
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
                    let (md, json) = ExportFile.paths(in: dir, session: name)   // a name like ../../x stays inside exports/
                    for (file, text) in [(md, try bench.store.exportMarkdown(name)), (json, try bench.store.exportJSON(name))] {
                        do { try ExportFile.write(text, to: file) } catch { return .browserMessage("could not write \(file): \(error)") }
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
                inbox.push(.engine(.turnRecorded(newMessages: try ScreenData.messages(store, session: s, after: lastID),
                                                 turns: try store.recentTurns(session: s.id, limit: ScreenData.chainPanelTurns),
                                                 memory: try store.memoryState(for: s), session: s, error: error)))
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
        do {
            // Only the mode and policy change: the anchors in `s` may be stale (another process's turn).
            s = try bench.store.setMode(session: s.id, mode, policy: policy ?? s.policy) ?? s
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
                if let s = try? store.session(named: col.session) { new = (try? ScreenData.messages(store, session: s, after: lastID)) ?? [] }
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
        return .browserPreview(name: name, messages: ScreenData.chatMessages(try bench.store.transcript(s, .last(12)).rows),
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
