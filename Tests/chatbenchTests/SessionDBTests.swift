import Foundation
import Testing
@testable import ChatEngine
@testable import chatbench

@Suite struct SessionDBTests {
    /// An Agents SDK session file as the Python SDK lays it out, written with plain SQL.
    func writeSDKFile(_ path: String) throws {
        let db = try Database.open(path: path, migrations: [], refuseNewer: false)
        try db.executeScript("""
            CREATE TABLE IF NOT EXISTS agent_sessions (session_id TEXT PRIMARY KEY, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
            CREATE TABLE IF NOT EXISTS agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
                message_data TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                FOREIGN KEY (session_id) REFERENCES agent_sessions (session_id) ON DELETE CASCADE);
            CREATE INDEX IF NOT EXISTS idx_agent_messages_session_id ON agent_messages (session_id, id);
            INSERT INTO agent_sessions(session_id) VALUES ('user-1');
            """)
        let rows = [
            #"{"content": "My name is Priya and I'm moving to Lisbon.", "role": "user"}"#,
            #"{"id": "msg_2e00", "content": [{"annotations": [], "text": "Nice to meet you.", "type": "output_text", "logprobs": []}], "role": "assistant", "status": "completed", "type": "message"}"#,
            #"{"arguments":"{\"city\":\"Lisbon\"}","call_id":"call_1","name":"get_weather","type":"function_call","id":"fc_94bf","status":"completed"}"#,
            #"{"call_id":"call_1","output":"Sunny in Lisbon","type":"function_call_output"}"#,
        ]
        for r in rows { try db.execute("INSERT INTO agent_messages(session_id, message_data) VALUES ('user-1', ?)", [.text(r)]) }
        db.close()
    }

    @Test func continuesAnSDKSessionFileAndAppendsValidRows() throws {
        let home = TempHome()
        let file = home.path + "/agent.db"
        try writeSDKFile(file)
        let r = try ChatbenchProcess.run(["send", "--session", "user-1", "--session-db", file, "--json", "Where am I moving? What's my name?"], home: home.path)
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((obj["reply"] as? String)?.contains("Lisbon") == true)
        #expect((obj["reply"] as? String)?.contains("Priya") == true)
        #expect(obj["mode"] as? String == "client")
        #expect(obj["items_sent"] as? Int == 5)     // the file's four items + the new message
        let r2 = try ChatbenchProcess.run(["send", "--session", "user-1", "I have a cat named Miso."], home: home.path)
        #expect(r2.status == 0)
        // Read the file the way the SDK does: every row json.loads, in id order, untouched rows kept.
        let db = try Database.open(path: file, migrations: [], refuseNewer: false)
        let rows = try db.query("SELECT message_data FROM agent_messages WHERE session_id = 'user-1' ORDER BY id").map { $0[0].string ?? "" }
        #expect(rows.count == 8)
        #expect(rows[0] == #"{"content": "My name is Priya and I'm moving to Lisbon.", "role": "user"}"#)  // never rewritten
        for row in rows { #expect((try? JSONSerialization.jsonObject(with: Data(row.utf8))) != nil, "\(row)") }
        #expect(rows[4].contains("\"role\":\"user\"") && rows[4].contains("Where am I moving"))
        #expect(rows[6].contains("Miso"))
        if let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = ["-c", """
                import json, sqlite3, sys
                c = sqlite3.connect(sys.argv[1])
                rows = [json.loads(r[0]) for r in c.execute("SELECT message_data FROM agent_messages WHERE session_id=? ORDER BY id ASC", ("user-1",))]
                assert [r.get("role") for r in rows if r.get("type", "message") == "message"][-2:] == ["user", "assistant"], rows
                print(len(rows))
                """, file]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "8")
        }
    }

    /// Bad input leaves nothing behind: a --session-db in a missing folder, a failed --attach.
    @Test func aBadSessionDBOrAttachCreatesNothing() throws {
        let home = TempHome()
        let missing = home.path + "/no/such/folder/agent.db"
        let r = try ChatbenchProcess.run(["send", "--session", "agent", "--session-db", missing, "hi"], home: home.path)
        #expect(r.status == 2 && r.stderr.contains("does not exist"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.path + "/no"))
        #expect(!FileManager.default.fileExists(atPath: home.path + "/workbench.sqlite"), "nothing at all is created")
        let attach = try ChatbenchProcess.run(["send", "--session", "attached", "--attach", "resp_doesnotexist", "hi"], home: home.path)
        #expect(attach.status != 0)
        let list = try ChatbenchProcess.run(["sessions", "list", "--format", "json"], home: home.path)
        #expect(list.status == 0)
        #expect(!list.stdout.contains("agent") && !list.stdout.contains("attached"), "\(list.stdout)")
    }

    @Test func listingAnSDKFileLeavesItByteForByte() throws {
        let home = TempHome()
        let file = home.path + "/agent.db"
        try writeSDKFile(file)
        do {
            let db = try Database.open(path: file, migrations: [], refuseNewer: false)
            try db.execute("PRAGMA journal_mode=DELETE")  // as the Python SDK leaves it
            db.close()
        }
        let before = try #require(FileManager.default.contents(atPath: file))
        let r = try ChatbenchProcess.run(["sessions", "list", "--session-db", file], home: home.path)
        #expect(r.status == 0 && r.stdout.contains("user-1\t4 items"), "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: file) == before)
    }

    @Test func sessionDBNeedsClientMode() throws {
        let home = TempHome()
        let r = try ChatbenchProcess.run(["send", "--mode", "chain", "--session-db", home.path + "/x.db", "hi"], home: home.path)
        #expect(r.status == 2)
        #expect(r.stderr.contains("--mode client"))
        let bad = try ChatbenchProcess.run(["send", "--mode", "client", "--policy", "window:0", "hi"], home: home.path)
        #expect(bad.status == 2 && bad.stderr.contains("bad policy 'window:0'"))
    }

    @Test func chainToClientToConversationToHybridFromTheShell() throws {
        let home = TempHome()
        func send(_ args: [String]) throws -> String {
            let r = try ChatbenchProcess.run(["send", "--session", "s"] + args, home: home.path)
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout
        }
        _ = try send(["--mode", "chain", "My name is Priya and I'm moving to Lisbon."])
        #expect(try send(["--mode", "client", "Where am I moving?"]).contains("Lisbon"))
        #expect(try send(["--mode", "conversation", "What's my name?"]).contains("Priya"))
        #expect(try send(["--mode", "hybrid", "Where am I moving? What's my name?"]).contains("Lisbon"))
    }
}

/// A blank session name is refused wherever a name is given, with one message: --session on send,
/// sessions rename, sessions fork --as; nothing is created.
@Suite struct BlankSessionNameTests {
    @Test func blankNamesAreRefusedEverywhere() throws {
        let home = TempHome()
        let message = "a session name cannot be empty or only spaces"
        for blank in ["", "   ", "\t"] {
            let send = try ChatbenchProcess.run(["send", "--session", blank, "hi"], home: home.path)
            #expect(send.status != 0 && send.stderr.contains(message), "\(send.stderr)")
        }
        #expect(try ChatbenchProcess.run(["sessions", "list"], home: home.path).stdout.contains("(no sessions)"))
        #expect(try ChatbenchProcess.run(["send", "--session", "x", "hi"], home: home.path).status == 0)
        let rename = try ChatbenchProcess.run(["sessions", "rename", "x", " "], home: home.path)
        #expect(rename.status != 0 && rename.stderr.contains(message), "\(rename.stderr)")
        let fork = try ChatbenchProcess.run(["sessions", "fork", "x", "--at", "m1", "--as", " "], home: home.path)
        #expect(fork.status != 0 && fork.stderr.contains(message), "\(fork.stderr)")
        let list = try ChatbenchProcess.run(["sessions", "list"], home: home.path).stdout
        #expect(list.split(separator: "\n").count == 2, "only x: \(list)")
    }
}

/// `sessions list` lines its columns up by display width, whatever the names are made of.
@Suite struct SessionsListTableTests {
    /// Every column is as wide as its widest cell: short and long numbers end under their headers
    /// ("msgs", "size"), and the text columns start where their headers do.
    @Test func columnsAlignForShortAndLongValues() {
        func row(_ name: String, mode: String, turns: Int, messages: Int, bytes: Int) -> SessionSummary {
            SessionSummary(name: name, mode: mode, backend: "offline", policy: "window:20", turns: turns, messages: messages, bytes: bytes,
                           last_activity: 0, forked_from: nil)
        }
        let lines = SessionsCommand.table([row("a", mode: "chain", turns: 5, messages: 10, bytes: 374),
                                           row("a-much-longer-name", mode: "client", turns: 123_456, messages: 9_876_543, bytes: 12_345_678_901)])
        #expect(lines.count == 3)
        func end(_ line: String, _ cell: String) -> Int? {
            line.range(of: cell).map { line.distance(from: line.startIndex, to: $0.upperBound) }
        }
        func start(_ line: String, _ cell: String) -> Int? {
            line.range(of: cell).map { line.distance(from: line.startIndex, to: $0.lowerBound) }
        }
        let h = lines[0]
        #expect(end(lines[1], "  5  ") .map { $0 - 2 } == end(h, "turns"), "\(lines.joined(separator: "\n"))")
        #expect(end(lines[1], " 10 ").map { $0 - 1 } == end(h, "msgs") && end(lines[2], "9876543") == end(h, "msgs"), "\(lines.joined(separator: "\n"))")
        #expect(end(lines[1], "374 B") == end(h, "size") && end(lines[2], "11.5 GB") == end(h, "size"), "\(lines.joined(separator: "\n"))")
        #expect(start(lines[1], "chain") == start(h, "mode") && start(lines[2], "client[window:20]") == start(h, "mode"))
        #expect(start(lines[1], "offline") == start(h, "backend") && start(lines[2], "offline") == start(h, "backend"))
        #expect(start(lines[1], "19") == start(h, "last activity") && start(lines[2], "19") == start(h, "last activity"))
    }

    @Test func wideAndCombiningNamesKeepTheColumns() throws {
        let home = TempHome()
        let names = [String(repeating: "寿司", count: 13), String(repeating: "e\u{301}", count: 20), "plain"]
        for n in names { #expect(try ChatbenchProcess.run(["send", "--session", n, "hi"], home: home.path).status == 0) }
        let r = try ChatbenchProcess.run(["sessions", "list"], home: home.path)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").dropFirst().map(String.init)
        #expect(rows.count == 3)
        // The mode column starts at the same cell on every row (names are cut to 24 cells with "…").
        let modeColumn = rows.map { row -> Int in
            let prefix = row[..<row.range(of: "chain")!.lowerBound]
            return prefix.unicodeScalars.reduce(0) { w, u in
                w + (u.properties.generalCategory == .nonspacingMark ? 0 : ((0x2E80...0x9FFF).contains(u.value) ? 2 : 1))
            }
        }
        #expect(Set(modeColumn).count == 1, "\(r.stdout)")
        #expect(rows.contains { $0.contains("…") })
    }
}
