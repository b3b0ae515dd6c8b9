import ChatEngine
import ChatTUI
import Foundation

/// `chatbench sessions`: list, search, show, rename, delete, export and fork sessions.
enum SessionsCommand {
    static let spec = CommandSpec(
        name: "sessions", summary: "list, search, show, rename, delete, export and fork sessions",
        positionals: "ACTION [ARGS...]", minPositionals: 0, maxPositionals: 3,
        flags: [
            FlagSpec("--search", "TEXT", "list: only sessions whose name or messages match (word prefixes)"),
            FlagSpec("--format", "FORMAT", "list/show: table | json; export: md | json"),
            FlagSpec("--server", nil, "delete: also delete the session's stored responses and conversation on its server"),
            FlagSpec("-o", "FILE", "export: write to FILE instead of standard output ('-o -' is standard output)"),
            FlagSpec("--at", "ID", "fork: a response id (resp_…) or a message id from 'sessions show'"),
            FlagSpec("--as", "NEW", "fork: the new session's name"),
            FlagSpec("--session-db", "FILE", "list: the sessions of an Agents SDK SQLite file instead"),
            FlagSpec("--raw", nil, "show/export: print text exactly as stored (control characters are shown as \\x1b otherwise)"),
            FlagSpec("--store", "URL", "list: the Agents SDK RedisSession sessions under a redis:// URL's key prefix instead"),
        ],
        details: """
            actions:
              list [--search TEXT] [--format table|json]
              show NAME [--format table|json]        the turns: response_id, previous_response_id, mode, metrics
              rename OLD NEW
              delete NAME [--server]
              export NAME --format md|json [-o FILE]
              fork NAME --at RESPONSE_ID|MESSAGE_ID --as NEW
            """,
        run: { try await run($0) })

    static func run(_ inv: Invocation) async throws -> Int32 {
        let args = inv.positionals
        let action = args.first ?? "list"
        func need(_ n: Int, _ usage: String) throws {
            guard args.count == n + 1 else { throw ConfigurationError("usage: chatbench sessions \(usage)") }
        }
        let paths = Paths(environment: inv.environment)
        // Commands that only read open the file read-only: they change nothing, and work in a
        // read-only data folder.
        let store: WorkbenchStore
        if ["list", "show", "export"].contains(action) {
            store = try WorkbenchStore.openForReading(path: paths.workbenchDatabase)
        } else {
            try Paths.ensureDirectory(paths.dataDirectory)
            store = try WorkbenchStore(path: paths.workbenchDatabase)
        }
        // Names, replies and errors came from outside: printed with control characters made visible.
        let out = StdoutWriter()
        let raw = inv.has("--raw")
        func say(_ text: String) { out.line(raw ? text : OutsideText.visible(text)) }
        switch action {
        case "list":
            try need(0, "list [--search TEXT] [--format table|json]")
            if let file = inv.value("--session-db") { try listExternal(file, out) } else if let url = inv.value("--store") {
                guard RedisURL.isRedis(url) else { throw ConfigurationError("--store takes a redis://host:port/db URL") }
                for (id, n) in try RedisAgentSession.list(url: try RedisURL(parsing: url)) { out.line("\(OutsideText.line(id))\t\(n) items") }
            } else {
                try printList(try store.listSessions(search: inv.value("--search")), format: inv.value("--format") ?? "table", out)
            }
        case "show":
            try need(1, "show NAME [--format table|json]")
            try show(store, args[1], format: inv.value("--format") ?? "table", out, raw: raw)
        case "rename":
            try need(2, "rename OLD NEW")
            try store.renameSession(args[1], to: args[2])
            say("renamed \(OutsideText.line(args[1])) → \(OutsideText.line(args[2]))")
        case "delete":
            try need(1, "delete NAME [--server]")
            let s = args[1]
            var serverNote = ""
            if inv.has("--server") { serverNote = try await deleteOnServer(store, s, inv: inv) }
            try store.deleteSession(s)
            say("deleted session \(OutsideText.line(s)) (its transcript, turns and client items)\(serverNote)")
        case "export":
            try need(1, "export NAME --format md|json [-o FILE]")
            let format = inv.value("--format") ?? "md"
            let text: String
            switch format {
            case "md": text = try store.exportMarkdown(args[1])
            case "json": text = try store.exportJSON(args[1])
            default: throw ConfigurationError("export formats are md and json")
            }
            // "-" is standard output, as is conventional; a file named "-" is still reachable as ./-.
            if let file = inv.value("-o"), file != "-" {
                try ExportFile.write(text, to: file)
                say("exported \(OutsideText.line(args[1])) to \(OutsideText.line(file))")
            } else {
                out.write(format == "json" ? OutsideText.json(text) : raw ? text : OutsideText.visible(text))
            }
        case "fork":
            try need(1, "fork NAME --at RESPONSE_ID|MESSAGE_ID --as NEW")
            guard let at = inv.value("--at"), let new = inv.value("--as") else { throw ConfigurationError("fork needs --at ID and --as NEW") }
            let f = try store.forkSession(args[1], at: at, as: new)
            let next = f.chainHead.map { "its next turn chains from \($0)" } ?? "its next turn carries the copied history"
            say("forked \(OutsideText.line(args[1])) at \(OutsideText.line(at)) as \(OutsideText.line(new)): \(try store.messages(session: f.id).count) messages; \(next)")
        default:
            throw ConfigurationError("unknown action '\(action)' (list, show, rename, delete, export, fork)")
        }
        try out.finish()
        return 0
    }

    static func date(_ t: Double) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: Date(timeIntervalSince1970: t))
    }

    static func printList(_ list: [SessionSummary], format: String, _ out: StdoutWriter) throws {
        switch format {
        case "json":
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .prettyPrinted]
            out.line(OutsideText.json(String(decoding: try e.encode(list), as: UTF8.self)))
        case "table":
            for line in table(list) { out.line(line) }
            if list.isEmpty { out.line("(no sessions)") }
        default:
            throw ConfigurationError("list formats are table and json")
        }
    }

    /// The list as a table: each column as wide as its widest cell (by display width: CJK and combining
    /// marks line up), numbers right-aligned under their headers; a long name keeps its end, cut with "…".
    static func table(_ list: [SessionSummary]) -> [String] {
        let header = ["name", "mode", "backend", "turns", "msgs", "size", "last activity"]
        let rows = list.map { s -> [String] in
            let name = OutsideText.line(s.name)
            return [DisplayWidth.of(name) > 24 ? Views.fit(name, 24, keepEnd: true) : name,
                    OutsideText.line(s.mode == "client" ? "client[\(s.policy)]" : s.mode), OutsideText.line(s.backend),
                    "\(s.turns)", "\(s.messages)", Views.bytes(s.bytes),
                    date(s.last_activity) + (s.forked_from.map { "  (fork of \(OutsideText.line($0)))" } ?? "")]
        }
        let numbers: Set<Int> = [3, 4, 5]
        let widths = header.indices.map { c in ([header] + rows).map { DisplayWidth.of($0[c]) }.max() ?? 0 }
        return ([header] + rows).map { cells in
            cells.indices.map { c -> String in
                let pad = String(repeating: " ", count: widths[c] - DisplayWidth.of(cells[c]))
                return c == cells.count - 1 ? cells[c] : numbers.contains(c) ? pad + cells[c] : cells[c] + pad
            }.joined(separator: "  ")
        }
    }

    static func show(_ store: WorkbenchStore, _ name: String, format: String, _ out: StdoutWriter, raw: Bool) throws {
        func v(_ s: String) -> String { raw ? s : OutsideText.line(s) }
        guard let s = try store.session(named: name) else { throw ConfigurationError("no session named '\(name)'") }
        let turns = try store.turns(session: s.id)
        if format == "json" {
            let doc: JSONValue = .object(["name": .string(s.name), "mode": .string(s.mode.rawValue), "backend": .string(s.backend),
                                          "chain_head": s.chainHead.map { .string($0) } ?? .null,
                                          "conversation_id": s.conversationID.map { .string($0) } ?? .null,
                                          "session": try store.sessionJSON(s),
                                          "turns": .array(turns.map(WorkbenchStore.turnJSON))])
            let e = WireJSON.encoder()
            e.outputFormatting.insert(.prettyPrinted)
            out.line(OutsideText.json(String(decoding: try e.encode(doc), as: UTF8.self)))
            return
        }
        guard format == "table" else { throw ConfigurationError("show formats are table and json") }
        out.line("session \(v(s.name)) · \(s.mode.title) · \(v(s.backend)) · \(v(s.model))" + (try store.forkedFrom(session: s.id).map { " · fork of \(v($0))" } ?? ""))
        // Ids are printed whole (they are copied into `sessions fork --at`); the columns fit the longest.
        let idW = max(8, turns.flatMap { [$0.responseID, $0.previousResponseID] }.compactMap { $0.map { v($0).count } }.max() ?? 0)
        out.line("turn  mode          " + "response".padding(toLength: idW + 1, withPad: " ", startingAt: 0)
                 + "previous".padding(toLength: idW, withPad: " ", startingAt: 0) + "  bytes  items  in (cached)  out  status")
        for t in turns {
            out.line(String(format: "%4d  ", t.number) + t.mode.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0) + " "
                  + v(t.responseID ?? "—").padding(toLength: idW, withPad: " ", startingAt: 0) + " "
                  + v(t.previousResponseID ?? "—").padding(toLength: idW, withPad: " ", startingAt: 0)
                  + String(format: " %5d %6d %6d (%3d) %4d  ", t.requestBytes, t.itemsSent, t.inputTokens ?? 0, t.cachedTokens ?? 0, t.outputTokens ?? 0)
                  + v(t.status.rawValue) + (t.chainEvent.map { " · \(v($0.rawValue))" } ?? ""))
        }
        out.line("messages (id role: text):")
        for m in try store.messages(session: s.id) {
            out.line("  m\(m.id) \(v(m.role.rawValue)): \(v((m.content.count > 70 ? String(m.content.prefix(69)) + "…" : m.content).replacingOccurrences(of: "\n", with: " ")))\(m.status == .complete ? "" : " [\(v(m.status.rawValue))]")")
        }
    }

    static func listExternal(_ file: String, _ out: StdoutWriter) throws {
        guard FileManager.default.fileExists(atPath: file) else { throw ConfigurationError("no such file: \(file)") }
        for (id, n) in try SQLiteAgentSession.list(path: file) { out.line("\(OutsideText.line(id))\t\(n) items") }
    }

    /// Deletes the session's stored responses and conversation on the server it used.
    static func deleteOnServer(_ store: WorkbenchStore, _ name: String, inv: Invocation) async throws -> String {
        guard let s = try store.session(named: name) else { throw ConfigurationError("no session named '\(name)'") }
        let paths = Paths(environment: inv.environment)
        let bench = try Workbench(paths: paths, backendName: s.backend, connection: .init(environment: inv.environment))
        let (responses, conversation) = try store.serverObjects(name)
        var deleted = 0, gone = 0
        for id in responses {
            do { _ = try await bench.backend.deleteResponse(id: id); deleted += 1 } catch let e as APIError where e.status == 404 { gone += 1 }
        }
        var conv = ""
        if let c = conversation {
            do { _ = try await bench.backend.deleteConversation(id: c); conv = "; conversation \(c) deleted" } catch let e as APIError where e.status == 404 { conv = "; conversation \(c) was already gone" }
        }
        return "; on the server: \(deleted) stored responses deleted, \(gone) already gone\(conv)"
    }
}
