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

/// Runs the workbench screen: reads keys, runs effects off the UI path, coalesces frames to at most
/// 60 per second, and always restores the terminal.
///
/// The state changes in one place, `apply`: an event goes through `App.update`, and the effects it asks
/// for run in `perform` (EffectRunner.swift), which reads the state but never writes it: what effects
/// produce comes back as events.
public final class AppRuntime {
    let bench: Workbench
    let runner: Runner
    private(set) var state: AppState
    let layout = LayoutCache()
    let inbox = Inbox()
    var sendTask: Task<Void, Never>?
    let theme: Theme
    let noColor: Bool
    let themeError: String?
    /// Set by the `.quit` effect (or a closed terminal): the loop ends.
    var quitRequested = false
    /// The name prefix of the open comparison's sessions, and its replies in flight (Esc cancels them).
    var comparePrefix = ""
    var compareTasks: [Task<Void, Never>] = []
    /// Test hook (CHATBENCH_FAULT=draw): fail right after a frame, to prove the terminal is restored.
    let failAfterDrawing = ProcessInfo.processInfo.environment["CHATBENCH_FAULT"] == "draw"

    public init(bench: Workbench, session: SessionRecord, theme: Theme, themeError: String?, noColor: Bool, pricing: Pricing? = nil) {
        self.bench = bench
        runner = Runner(store: bench.store, backend: bench.backend)
        self.theme = theme
        self.noColor = noColor
        self.themeError = themeError
        state = AppState(width: 80, height: 24, backend: bench.backend.info, timeZone: .current)
        state.session = session
        state.pricing = pricing
    }

    /// The one place the state changes: the event through `update`, then its effects, whose results
    /// come back as events, until none is left.
    func apply(_ event: Event, _ terminal: CursesTerminal?) {
        var events = [event]
        while !events.isEmpty {
            let effects = App.update(&state, events.removeFirst(), layout: layout)
            for effect in effects { events += perform(effect, terminal) }
        }
    }

    /// Runs until the user quits or a signal arrives. Returns the exit code (128 + the signal's number
    /// after a signal).
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
        apply(.resize(width: terminal.size.width, height: terminal.size.height), nil)
        if let s = state.session {
            do { apply(.engine(try ScreenData.load(bench.store, s, withHistory: true)), nil) } catch { apply(.engine(.failure("\(error)")), nil) }
        }
        Trace.mark("session loaded")
        if let themeError { apply(.engine(.failure(themeError)), nil) }
        // What the price table ignored is said on the screen (standard error is under it).
        if let notes = state.pricing?.table.notes, let first = notes.first {
            apply(.engine(.failure("price table: " + first + (notes.count > 1 ? " (and \(notes.count - 1) more)" : ""))), nil)
        }
        var stats = LoopStats()
        defer { stats.write(to: ProcessInfo.processInfo.environment["CHATBENCH_LOOP_STATS"]) }
        guard let wake = WakePipe() else {
            terminal.restore()
            FileHandle.standardError.write(Data("chatbench: cannot create the screen's wake-up pipe: \(String(cString: strerror(errno)))\n".utf8))
            return 1
        }
        inbox.wake = wake
        CursesTerminal.setWakeDescriptor(wake.writeFD)
        var watched = watchedFiles()
        var watch = FileWatch(files: watched)
        seenDataVersions = dataVersions() ?? []
        var lastFrame: UInt64 = 0
        var dirty = true
        var emptyReads = 0
        /// When to look at the files again after another process wrote (writes come in bursts).
        var checkDue: UInt64?
        let frameInterval: UInt64 = 16_666_667
        func handle(_ event: Event) {
            if case .key = event { apply(.clock(Date()), terminal) }
            apply(event, terminal)
            dirty = true
        }
        // Event-driven: block in poll(2) on the keys, the wake-up pipe (engine events, signals) and the
        // file watch; draw only after something changed, at most 60 frames a second. At rest nothing runs.
        while !quitRequested {
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
            let polling = watch == nil || isRedisSession   // nothing to watch: look once a second instead
            if polling && wait < 0 { wait = 1_000_000_000 }
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
                    case .eof: quitRequested = true
                    case .event(let event): handle(event)
                    }
                    if quitRequested { break }
                }
                // Readable yet nothing to read, again and again: the terminal is gone.
                emptyReads = got == 0 ? emptyReads + 1 : 0
                if emptyReads > 3 || (got == 0 && fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0) { quitRequested = true }
            }
            for event in inbox.drain() { handle(event) }
            if watchedFiles() != watched {
                // Another session is open now (Ctrl-N, F4): watch its files instead, from what they hold now.
                watched = watchedFiles()
                watch = FileWatch(files: watched)
                seenDataVersions = dataVersions() ?? []
            }
            let after = DispatchTime.now().uptimeNanoseconds
            if let watch, fds[2].revents != 0, watch.drain(), checkDue == nil { checkDue = after + 50_000_000 }
            if polling && checkDue == nil { checkDue = after + 1_000_000_000 }
            if let due = checkDue, after >= due {
                checkDue = nil
                let (changed, again) = refreshIfChangedElsewhere()
                if changed { dirty = true }
                if again { checkDue = after + 50_000_000 }
            }
        }
        finishSend()
        // Ended by a signal (SIGTERM, SIGHUP, SIGINT): the shell's convention, 128 + its number, so a
        // script can tell the screen was killed rather than quit.
        let signal = CursesTerminal.pendingSignal
        return signal != 0 ? 128 + signal : 0
    }

    /// `PRAGMA data_version` of the workbench file and of the session's Agents SDK file (if any) when the
    /// pane was last brought up to date.
    var seenDataVersions: [String] = []

    /// The database files whose writes by other processes the screen shows.
    func watchedFiles() -> [String] {
        [bench.store.db.path] + [state.session?.clientDB].compactMap { $0 }
    }

    /// The session's Agents SDK file, held open while the screen shows it (so its data_version means something).
    var agentDatabase: Database?

    /// What changes when another program writes the session: `data_version` of the files, and for a
    /// Redis session its change token.
    /// nil when one could not be read (a writer mid-commit holds the file): look again shortly.
    func dataVersions() -> [String]? {
        if let s = state.session, let file = s.clientDB, !RedisURL.isRedis(file), agentDatabase?.path != file {
            agentDatabase = try? Database.open(path: file, migrations: [], refuseNewer: false, createFolder: false)
        }
        var marks: [String] = []
        for db in [bench.store.db, agentDatabase].compactMap({ $0 }) {
            guard let v = try? db.dataVersion() else { return nil }
            marks.append("\(v)")
        }
        if let s = state.session, isRedisSession {
            guard let token = try? bench.store.externalChangeToken(for: s) else { return nil }
            marks.append(token ?? "")
        }
        return marks
    }

    /// A Redis server cannot be watched like a file: such a session is looked at once a second.
    var isRedisSession: Bool { state.session?.clientDB.map(RedisURL.isRedis) ?? false }

    /// Shows what other processes (`send`, `serve`, another screen, an agent on the SDK file) wrote to the
    /// open session, without a restart. Runs when the file watch saw a write, and only while no turn of
    /// this screen is in flight (that turn's own record brings every row up to date); `data_version`
    /// makes it one cheap pragma when nothing changed. `changed`: the state changed; `again`: look
    /// again shortly (a turn of this screen is in flight, or a file was mid-commit).
    func refreshIfChangedElsewhere() -> (changed: Bool, again: Bool) {
        guard state.streaming == nil, let session = state.session else { return (false, true) }
        guard let versions = dataVersions() else { return (false, true) }
        guard versions != seenDataVersions else { return (false, false) }
        seenDataVersions = versions
        do {
            guard let events = try ScreenData.changes(bench.store, session: session.id, after: state.messages.last?.id ?? 0) else {
                apply(.engine(.failure("session \"\(session.name)\" was deleted by another chatbench")), nil)
                return (true, false)
            }
            for event in events { apply(.engine(event), nil) }
            // The session browser, if open, lists what other processes added, renamed or deleted.
            if let query = state.browser?.query.text {
                for e in perform(.browserSearch(query), nil) { apply(e, nil) }
            }
        } catch {
            apply(.engine(.failure("could not read the store: \(error)")), nil)
        }
        return (true, false)
    }

    /// Cancels a reply in flight and waits (briefly) until its interrupted turn is recorded.
    func finishSend() {
        guard let task = sendTask else { return }
        task.cancel()
        let done = DispatchSemaphore(value: 0)
        Task { await task.value; done.signal() }
        _ = done.wait(timeout: .now() + 3)
    }

}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
