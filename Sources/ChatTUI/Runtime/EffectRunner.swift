import ChatEngine
import Foundation

/// Runs the effects `update` asks for: store reads and writes, engine turns, terminal requests. It reads
/// the state but never writes it: what an effect produces comes back as events, now (the returned
/// list) or later (through the inbox, from tasks).
extension AppRuntime {
    func perform(_ effect: Effect, _ terminal: CursesTerminal?) -> [Event] {
        let store = bench.store
        switch effect {
        case .quit:
            quitRequested = true
            return []
        case .redraw:
            terminal?.invalidate()
            return []
        case .cancelStream:
            sendTask?.cancel()
            return []
        case .send(let text):
            send(text)
            return []
        case .loadPage(let page):
            guard let s = state.session else { return [] }
            return events { [.engine(try ScreenData.page(page, of: s, store: store))] } failure: { "could not read the transcript: \($0)" }
        case .switchMode(let mode, let policy, let serverPolicy):
            guard let s = state.session else { return [] }
            return events {
                // Only the mode and policies change: the anchors in `s` may be stale (another process's turn).
                var switched = try store.setMode(session: s.id, mode, policy: policy ?? s.policy) ?? s
                if let serverPolicy, serverPolicy != switched.serverPolicy {
                    switched = try store.setServerPolicy(session: s.id, try ServerPolicy(parsing: serverPolicy)) ?? switched
                }
                return [.engine(.modeSwitched(switched, try store.memoryState(for: switched)))]
            } failure: { "could not switch: \($0)" }
        case .newSession(let name):
            let options = Workbench.SessionOptions.like(state.session)
            return events {
                // A new session only: opening an existing one here would switch it to this one's settings.
                if try store.session(named: name) != nil {
                    return [.engine(.failure("a session named \"\(name)\" already exists: F4 opens it, Ctrl-N with another name starts one"))]
                }
                let s = try bench.openSession(name: name, options: options)
                return [.engine(try ScreenData.load(store, s)), .engine(.notice("session \"\(name)\""))]
            }
        case .openSession(let name):
            return events {
                guard let s = try store.session(named: name) else { return [.engine(.failure("session \"\(name)\" no longer exists"))] }
                return [.engine(try ScreenData.load(store, s)), .engine(.notice("session \"\(name)\""))]
            }
        case .askServer(let t):
            let backend = bench.backend, inbox = self.inbox
            Task.detached {
                let text: String
                do { text = try await ServerObservation.observe(t, backend: backend) } catch { text = "failed: " + Secrets.redact("\(error)") }
                inbox.push(.engine(.serverObserved(turnID: t.id, text)))
            }
            return []
        case .loadXRay(let id):
            return events { [.engine(.xrayLoaded(XRayData(turnID: id, turn: try store.turn(id: id), requests: try store.requests(turn: id))))] }
                failure: { "could not read the turn's requests: \($0)" }
        case .loadXRayNeighbour(let session, let number, let older):
            return events {
                guard let t = try store.neighbourTurn(session: session, number: number, older: older) else { return [] }
                return [.engine(.xrayLoaded(XRayData(turnID: t.id, turn: t, requests: try store.requests(turn: t.id))))]
            } failure: { "could not read the turn: \($0)" }
        case .forkHere(let messageID):
            guard let s = state.session else { return [] }
            return events {
                var n = 1
                while try store.session(named: "\(s.name)-fork-\(n)") != nil { n += 1 }
                let fork = try store.forkSession(s.name, at: "\(messageID)", as: "\(s.name)-fork-\(n)")
                return [.engine(try ScreenData.load(store, fork)), .engine(.notice("forked \(s.name) at m\(messageID) as \(fork.name); you are in the fork"))]
            }
        case .openCompare:
            return events {
                let f = DateFormatter()
                f.dateFormat = "MMdd-HHmmss"
                comparePrefix = "compare-\(f.string(from: Date()))"
                let columns = try [CompareColumn(mode: .chain), CompareColumn(mode: .client)].map { try compareSession($0) }
                return [.engine(.compareOpened(CompareViewState(columns: columns)))]
            } failure: { "could not open the comparison: \($0)" }
        case .compareAddColumn(let column):
            return events { [.engine(.compareColumnAdded(try compareSession(column)))] }
        case .compareSend(let text):
            compareSend(text)
            return []
        case .compareCancel:
            for task in compareTasks { task.cancel() }
            return []
        case .browserSearch(let q):
            return browserEvents { [.engine(.browserList(try store.listSessions(search: q.isEmpty ? nil : q)))] }
        case .browserPreview(let name):
            return browserEvents {
                guard let s = try store.session(named: name) else { return [.engine(.browserMessage("no session \(name)"))] }
                return [.engine(.browserPreview(name: name, messages: ScreenData.chatMessages(try store.transcript(s, .last(12)).rows),
                                                turns: try store.recentTurns(session: s.id, limit: 12)))]
            }
        case .browserRename(let from, let to):
            let query = state.browser?.query.text.nilIfEmpty
            return browserEvents {
                try store.renameSession(from, to: to)
                return [.engine(.browserList(try store.listSessions(search: query))), .engine(.sessionRenamed(from: from, to: to))]
            }
        case .browserDelete(let name, let server):
            deleteSession(name, server: server)
            return []
        case .browserExport(let name):
            return browserEvents {
                let dir = bench.paths.dataDirectory + "/exports"
                try Paths.ensureDirectory(dir)
                let (md, json) = ExportFile.paths(in: dir, session: name)   // a name like ../../x stays inside exports/
                for (file, text) in [(md, try store.exportMarkdown(name)), (json, try store.exportJSON(name))] {
                    do { try ExportFile.write(text, to: file) } catch { return [.engine(.browserMessage("could not write \(file): \(error)"))] }
                }
                return [.engine(.browserMessage("exported to \(md) and .json"))]
            }
        case .browserFork(let name, let new, let at):
            let query = state.browser?.query.text.nilIfEmpty
            return browserEvents {
                try store.forkSession(name, at: at, as: new)
                return [.engine(.browserList(try store.listSessions(search: query))), .engine(.browserMessage("forked \(name) at \(at) as \(new)"))]
            }
        }
    }

    /// The events of a store action, or its error as a failure event.
    func events(_ body: () throws -> [Event], failure: (Error) -> String = { "\($0)" }) -> [Event] {
        do { return try body() } catch { return [.engine(.failure(failure(error)))] }
    }

    /// Like `events`, for the browser: an error becomes the browser's message.
    func browserEvents(_ body: () throws -> [Event]) -> [Event] {
        do { return try body() } catch { return [.engine(.browserMessage("\(error)"))] }
    }

    /// A session for a compare column, named after the comparison and the column.
    func compareSession(_ column: CompareColumn) throws -> CompareColumnState {
        CompareColumnState(column: column, session: try Comparison.makeSession(column, prefix: comparePrefix, store: bench.store, backend: bench.backend.info))
    }

    /// Starts a turn; its deltas and its record come back through the inbox.
    func send(_ text: String) {
        guard let session = state.session else { return }
        let lastID = state.messages.last?.id ?? 0
        let inbox = self.inbox
        let store = bench.store
        let runner = self.runner
        sendTask = Task.detached {
            var error: String?
            var sent = false
            do {
                _ = try await runner.send(text, in: session.name) { inbox.push(.engine(.delta($0))) }
                sent = true
            } catch is CancellationError {
                error = nil
            } catch let f as TurnFailure {
                error = f.underlying
            } catch {
                inbox.push(.engine(.failure("\(error)")))
            }
            do {
                guard let s = try store.session(id: session.id) else {
                    inbox.push(.engine(.turnAbandoned("session \"\(session.name)\" no longer exists (deleted by another chatbench?): Ctrl-N starts one, F4 opens another",
                                                      sent: sent)))
                    return
                }
                inbox.push(.engine(.turnRecorded(newMessages: try ScreenData.messages(store, session: s, after: lastID),
                                                 turns: try store.recentTurns(session: s.id, limit: ScreenData.chainPanelTurns),
                                                 memory: try store.memoryState(for: s), session: s, error: error)))
            } catch {
                inbox.push(.engine(.turnAbandoned("could not read the store: \(error)", sent: sent)))
            }
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
                let runner = Runner(store: store, backend: backend)
                runner.cacheKeyPerSession = true   // each column its own cache, as in `chatbench compare`
                let row = await Comparison.row(runner, text, session: col.session, label: col.column.label,
                                               number: number, expect: nil) { inbox.push(.engine(.compareDelta(column: i, text: $0))) }
                var new: [ChatMessage] = []
                if let s = try? store.session(named: col.session) { new = (try? ScreenData.messages(store, session: s, after: lastID)) ?? [] }
                inbox.push(.engine(.compareTurn(column: i, row: row, newMessages: new)))
            }
        }
    }

    /// Deletes a session (and, `server`, its stored responses and conversation) off the UI path.
    func deleteSession(_ name: String, server: Bool) {
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
}
