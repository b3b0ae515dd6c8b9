import Foundation
import Testing
import ChatEngine

@Suite struct SendCommandTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test(arguments: ["chain", "conversation"])
    func recallFromTheShellWithAnEmptyHome(mode: String) throws {
        let home = TempHome()
        let first = try ChatbenchProcess.run(["send", "--session", "s", "--mode", mode, "My name is Priya and I'm moving to Lisbon."], home: home.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("Priya"))
        // A separate invocation continues the session: it remembers its mode.
        let second = try ChatbenchProcess.run(["send", "--session", "s", "Where am I moving?"], home: home.path)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("Lisbon"))
        let third = try ChatbenchProcess.run(["send", "--session", "s", "--json", "What's my name?"], home: home.path)
        let obj = try json(third.stdout)
        #expect(obj["mode"] as? String == mode)
        #expect((obj["reply"] as? String)?.contains("Priya") == true)
        #expect((obj["response_id"] as? String)?.hasPrefix("resp_") == true)
        #expect(obj["items_sent"] as? Int == 1)
        #expect((obj["request_bytes"] as? Int ?? 0) > 0)
        let usage = try #require(obj["usage"] as? [String: Any])
        #expect((usage["input_tokens"] as? Int ?? 0) > 0 && usage["cached_tokens"] as? Int == 0)
        #expect(obj["latency_ms"] is Double || obj["latency_ms"] is Int)
        if mode == "chain" {
            #expect((obj["previous_response_id"] as? String)?.hasPrefix("resp_") == true)
            #expect(obj["conversation_id"] is NSNull)
        } else {
            #expect((obj["conversation_id"] as? String)?.hasPrefix("conv_") == true)
            #expect(obj["previous_response_id"] is NSNull)
        }
        // Both files exist in the home, private to the user.
        for f in ["workbench.sqlite", "offline-server.sqlite"] {
            let attrs = try FileManager.default.attributesOfItem(atPath: home.path + "/" + f)
            #expect((attrs[.posixPermissions] as? Int) == 0o600)
        }
    }

    /// With summarize:N the numbers describe the turn's own request, as the store recorded it; the
    /// summary request has its own, as overhead, billed apart.
    @Test func jsonSeparatesTheSummaryRequestFromTheReply() throws {
        let home = TempHome()
        let flags = ["send", "--session", "s", "--mode", "client", "--policy", "summarize:4"]
        for text in ["My name is Priya.", "I live in Porto.", "I have a dog named Rex."] {
            #expect(try ChatbenchProcess.run(flags + [text], home: home.path).status == 0)
        }
        let obj = try json(try ChatbenchProcess.run(flags + ["--json", "Hello again."], home: home.path).stdout)
        let policy = try #require(obj["policy"] as? [String: Any])
        let summary = try #require(policy["summary_request"] as? [String: Any])
        #expect(obj["items_sent"] as? Int == 4 && summary["items_sent"] as? Int == 4)
        let usage = try #require(obj["usage"] as? [String: Any]), summaryUsage = try #require(summary["usage"] as? [String: Any])
        let store = try WorkbenchStore(path: home.path + "/workbench.sqlite")
        let session = try #require(try store.session(named: "s"))
        let turn = try #require(try store.turns(session: session.id).last)
        #expect(obj["request_bytes"] as? Int == turn.requestBytes && usage["input_tokens"] as? Int == turn.inputTokens)
        let overhead = try #require((obj["overhead"] as? [[String: Any]])?.first)
        #expect(overhead["kind"] as? String == "summarizer" && overhead["request_bytes"] as? Int == summary["request_bytes"] as? Int)
        #expect(overhead["input_tokens"] as? Int == summaryUsage["input_tokens"] as? Int && (summaryUsage["input_tokens"] as? Int ?? 0) > 0)
        // The context parts add up to the reply request.
        let parts = try #require(obj["context"] as? [[String: Any]])
        #expect(parts.reduce(0) { $0 + ($1["bytes"] as? Int ?? 0) } == turn.requestBytes)
        #expect(parts.contains { $0["source"] as? String == "summary" } && parts.contains { $0["source"] as? String == "new" })
    }

    @Test func aNewSessionKnowsNothing() throws {
        let home = TempHome()
        _ = try ChatbenchProcess.run(["send", "--session", "a", "My name is Priya."], home: home.path)
        let other = try ChatbenchProcess.run(["send", "--session", "b", "What's my name?"], home: home.path)
        #expect(other.stdout.contains("don't know your name"))
    }

    @Test func theLastUsedSessionIsTheDefault() throws {
        let home = TempHome()
        _ = try ChatbenchProcess.run(["send", "--session", "trip", "I'm planning a trip to Japan."], home: home.path)
        let r = try ChatbenchProcess.run(["send", "Where am I going?"], home: home.path)
        #expect(r.stdout.contains("Japan"))
    }

    @Test func messageFromStandardInput() throws {
        let home = TempHome()
        let r = try ChatbenchProcess.run(["send", "--session", "s", "-"], home: home.path, stdin: "I'm 34 years old.\n")
        #expect(r.status == 0)
        #expect(r.stdout.contains("34"))
    }

    @Test func badInputGetsAClearErrorAndExit2() throws {
        let home = TempHome()
        let mode = try ChatbenchProcess.run(["send", "--mode", "telepathy", "hi"], home: home.path)
        #expect(mode.status == 2 && mode.stderr.contains("unknown mode 'telepathy'"))
        let backend = try ChatbenchProcess.run(["send", "--backend", "carrier-pigeon", "hi"], home: home.path)
        #expect(backend.status == 2 && backend.stderr.contains("unknown backend"))
        let empty = try ChatbenchProcess.run(["send", "  "], home: home.path)
        #expect(empty.status == 2 && empty.stderr.contains("empty"))
        let missing = try ChatbenchProcess.run(["send"], home: home.path)
        #expect(missing.status == 2 && missing.stderr.contains("missing MESSAGE"))
    }

    @Test func aCorruptWorkbenchFileIsRefusedAndLeftAlone() throws {
        let home = TempHome()
        let path = home.path + "/workbench.sqlite"
        let junk = Data("definitely not sqlite".utf8)
        _ = FileManager.default.createFile(atPath: path, contents: junk)
        let r = try ChatbenchProcess.run(["send", "hi"], home: home.path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("not a SQLite database") && r.stderr.contains(path))
        #expect(FileManager.default.contents(atPath: path) == junk)
    }
}

@Suite struct CompareCommandTests {
    @Test func fiftyTurnsChainVersusClientInNumbers() throws {
        let home = TempHome()
        let r = try ChatbenchProcess.run(["compare", "--modes", "chain,client", "--turns", "50", "--format", "json"], home: home.path)
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let turns = try #require(doc["turns"] as? [[String: Any]])
        #expect(turns.count == 100)
        func bytes(_ mode: String) -> [Int] { turns.filter { $0["mode"] as? String == mode }.compactMap { $0["request_bytes"] as? Int } }
        func tokens(_ mode: String) -> Int { turns.filter { $0["mode"] as? String == mode }.compactMap { $0["input_tokens"] as? Int }.reduce(0, +) }
        let chain = bytes("chain"), client = bytes("client")
        // Chain bytes flat after the first turn; client bytes grow about linearly; billed tokens about equal.
        #expect(Double(chain.dropFirst().max()!) / Double(chain.dropFirst().min()!) < 1.5)
        #expect(client[49] > client[9] * 4 && client[29] > client[9] * 2)
        #expect(abs(tokens("chain") - tokens("client")) * 100 <= max(tokens("chain"), tokens("client")) * 3)
        let lines = try #require((doc["summary"] as? [String: Any])?["lines"] as? [String])
        #expect(lines[0].hasPrefix("client sent ") && lines[0].contains("× the bytes of chain; billed input tokens"))
        #expect(lines.contains { $0.hasPrefix("chain: request bytes flat") })
        #expect(lines.contains { $0.hasPrefix("client: request bytes growing about linearly") })
        // The runs are saved as sessions.
        let sessions = try ChatbenchProcess.run(["send", "--session", "x", "hi"], home: home.path)
        #expect(sessions.status == 0)
    }

    @Test func aWindowPolicyLosesFactsAndTheReportSaysSo() throws {
        let home = TempHome()
        let r = try ChatbenchProcess.run(["compare", "--modes", "chain,client:window:2", "--turns", "12"], home: home.path)
        #expect(r.stdout.contains("chain: request bytes") && r.stdout.contains("recall 5/5 right"))
        #expect(r.stdout.contains("client[window:2]") && r.stdout.contains("recall 0/5 right"))
        let bad = try ChatbenchProcess.run(["compare", "--format", "xml"], home: home.path)
        #expect(bad.status == 2 && bad.stderr.contains("unknown format"))
    }

    /// A mode twice would write both columns into one session: refused, and the help says the limits.
    @Test func modesAreListedOnceAndAtMostFour() throws {
        let home = TempHome()
        let twice = try ChatbenchProcess.run(["compare", "--modes", "chain,chain", "--turns", "1"], home: home.path)
        #expect(twice.status == 2 && twice.stderr.contains("lists chain twice"), "\(twice.stderr)")
        let help = try ChatbenchProcess.run(["help", "compare"], home: home.path)
        #expect(help.stdout.contains("one to four") && help.stdout.contains("At most four modes"), "\(help.stdout)")
        let table = try ChatbenchProcess.run(["compare", "--modes", "chain,client:budget:200", "--turns", "1"], home: home.path)
        #expect(table.stdout.contains("client[budget:200]  "), "\(table.stdout)")
    }

    /// The project documents what it emulates itself: no file cites a document outside the repository.
    @Test func noCitationOfFilesOutsideTheRepository() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var files = ["README.md"]
        for dir in ["Sources", "Tests"] {
            let e = FileManager.default.enumerator(atPath: root.appendingPathComponent(dir).path)
            while let f = e?.nextObject() as? String {
                if f.hasSuffix(".swift") || f.hasSuffix(".py") { files.append(dir + "/" + f) }
            }
        }
        #expect(files.count > 20)
        let outside = ["openai" + "-wire.md", "swift" + "-recipes.md", "work/" + "shared"]
        for f in files {
            let text = try String(contentsOf: root.appendingPathComponent(f), encoding: .utf8)
            for name in outside { #expect(!text.contains(name), "\(f) cites \(name)") }
        }
    }
}

@Suite struct SessionsShowTests {
    /// The ids `sessions show` prints are whole: one copied from it forks the session.
    @Test func aCopiedResponseIDForks() throws {
        let home = TempHome()
        for text in ["My name is Priya.", "I live in Porto."] {
            #expect(try ChatbenchProcess.run(["send", "--session", "trip", text], home: home.path).status == 0)
        }
        let show = try ChatbenchProcess.run(["sessions", "show", "trip"], home: home.path)
        #expect(show.status == 0, "\(show.stderr)")
        let firstTurn = try #require(show.stdout.split(separator: "\n").first { $0.hasPrefix("   1  ") })
        let copied = try #require(firstTurn.split(separator: " ").first { $0.hasPrefix("resp_") })
        #expect(copied.count == 53, "\(copied)")   // resp_ and 48 hex digits
        let fork = try ChatbenchProcess.run(["sessions", "fork", "trip", "--at", String(copied), "--as", "trip-early"], home: home.path)
        #expect(fork.status == 0, "\(fork.stderr)")
    }
}
