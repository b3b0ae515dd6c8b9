import Foundation
import Testing
@testable import ChatEngine
@testable import chatbench

/// `chatbench probe` against three servers: chatbench serve (everything it implements passes),
/// the fake OpenAI server, and a deliberately stateless stub (the state rows fail, saying why).
@Suite struct ProbeTests {
    struct Report: Decodable {
        struct Row: Decodable { var name: String; var status: String; var detail: String }
        var server: String
        var rows: [Row]
        func status(_ name: String) -> String { rows.first { $0.name == name }?.status ?? "missing" }
        func detail(_ name: String) -> String { rows.first { $0.name == name }?.detail ?? "" }
    }

    func probe(_ url: String, home: String) throws -> (ChatbenchProcess.Result, Report) {
        let r = try ChatbenchProcess.run(["probe", "--base-url", url, "--json"], home: home)
        let report = try JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8))
        #expect(report.server == url)
        #expect(report.rows.map(\.name) == Probe.rowNames)
        return (r, report)
    }

    @Test func everyRowPassesAgainstServeAndNothingIsLeftBehind() async throws {
        let home = TempHome()
        let serve = try ServeProcess(["--quiet"], home: home.path)
        let (r, report) = try await offPool { Result { try probe(serve.baseURL, home: home.path) } }.get()
        for row in report.rows { #expect(row.status == "pass", "\(row.name): \(row.detail)") }
        #expect(report.detail("compaction").contains("recalled the name") && report.detail("compaction").contains("trigger compacted"))
        #expect(r.status == 0)
        let db = try OfflineBackend(path: home.path + "/offline-server.sqlite").db
        #expect(try db.query("SELECT count(*) FROM responses WHERE deleted = 0 AND stored = 1")[0][0].int == 0)
        #expect(try db.query("SELECT count(*) FROM conversations WHERE deleted = 0")[0][0].int == 0)
    }

    @Test func everyRowPassesAgainstTheGatewayOverAChatOnlyUpstream() async throws {
        let home = TempHome()
        let chat = try FakeServer()   // answers only from the messages it is sent
        let serve = try ServeProcess(["--quiet", "--upstream", chat.baseURL], home: home.path)
        let (r, report) = try await offPool { Result { try probe(serve.baseURL, home: home.path) } }.get()
        for row in report.rows { #expect(row.status == "pass", "\(row.name): \(row.detail)") }
        // The upstream wrote the summary; the compacted output carried the context into the next turn.
        #expect(report.detail("compaction").contains("trigger compacted"), "\(report.detail("compaction"))")
        #expect(r.status == 0)
    }

    @Test func theFakeOpenAIServerPassesItsRows() async throws {
        let home = TempHome()
        let fake = try FakeServer()
        let (_, report) = try await offPool { Result { try probe(fake.baseURL, home: home.path) } }.get()
        for name in ["create_retrieve", "chain_recall", "store_false", "unknown_id_error", "conversations", "input_items_paging",
                     "streaming", "cached_tokens", "error_envelope_request_id"] {
            #expect(report.status(name) == "pass", "\(name): \(report.detail(name))")
        }
        #expect(report.status("compaction") == "unsupported")
        let state = try await fake.call("GET", "/_state") as? [String: Int]
        #expect(state == ["responses": 0, "conversations": 0])
    }

    /// The conversations row compares the listed item's content with the created message, and says so
    /// (not "expected the 1 created item, got 1").
    @Test func aConversationItemWithOtherContentIsReportedByItsContent() async throws {
        let home = TempHome()
        let fake = try FakeServer(arguments: ["other_conversation_items"])
        let (_, report) = try await offPool { Result { try probe(fake.baseURL, home: home.path) } }.get()
        let detail = report.detail("conversations")
        #expect(report.status("conversations") == "fail")
        #expect(detail.contains("list items: the listed item's content has no text part holding the created message \"My name is Vex")
                && detail.contains("something else") && !detail.contains("got 1"), "\(detail)")
    }

    /// A server that accepts and closes without a reply is said to have done that (not "the reply is
    /// not HTTP"); one that answers with bytes that are not HTTP is not called a bad URL.
    @Test func aServerThatClosesWithoutAReplyIsSaidToHaveDoneSo() async throws {
        let home = TempHome()
        for (mode, text) in [("close", "the server closed the connection without a reply"), ("garbage", "the reply is not HTTP")] {
            let stub = try FakeServer(script: "closing_stub.py", arguments: [mode])
            let r = try await offPool { Result { try ChatbenchProcess.run(["probe", "--base-url", stub.baseURL], home: home.path) } }.get()
            #expect(r.status != 0 && r.stderr.contains("cannot reach http://127.0.0.1:\(stub.port): \(text)"), "\(mode): \(r.stderr)")
            #expect(!r.stderr.contains("bad URL"), "\(mode): \(r.stderr)")
        }
    }

    @Test func aStatelessServerFailsTheStateRowsWithReasons() async throws {
        let home = TempHome()
        let stub = try FakeServer(script: "stateless_stub.py")
        let (r, report) = try await offPool { Result { try probe(stub.baseURL, home: home.path) } }.get()
        #expect(r.status == 1)
        #expect(report.status("create_retrieve") == "fail" && report.detail("create_retrieve").contains("GET of a just-created response: HTTP 404"))
        #expect(report.status("chain_recall") == "fail" && report.detail("chain_recall").contains("did not recall"))
        #expect(report.status("store_false") == "fail" && report.detail("store_false").contains("could be chained"))
        #expect(report.status("delete_breaks_chain") == "unsupported")
        #expect(report.status("conversations") == "unsupported")
        #expect(report.status("streaming") == "pass", "\(report.detail("streaming"))")
        #expect(report.status("error_envelope_request_id") == "fail" && report.detail("error_envelope_request_id").contains("x-request-id"))
    }

    /// A server that echoes the key and terminal control sequences: probe prints neither, in the
    /// table or in --json.
    @Test func aHostileServerCannotReachTheTerminalOrLeakTheKey() async throws {
        let home = TempHome()
        let stub = try FakeServer(script: "hostile_probe_stub.py")
        let key = "sk-probe-SECRET-0123456789abcdef"
        for json in [false, true] {
            let r = try ChatbenchProcess.run(["probe", "--base-url", stub.baseURL] + (json ? ["--json"] : []), home: home.path,
                                             extraEnv: ["OPENAI_API_KEY": key])
            #expect(!r.stdout.contains("\u{1b}") && !r.stdout.contains("\u{07}"), "raw control characters reached stdout")
            #expect(!r.stdout.contains(key) && !r.stderr.contains(key), "the key was printed")
            #expect(r.stdout.contains("[redacted key]"), "\(r.stdout)")
            if json { #expect((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) != nil, "\(r.stdout)") }
        }
    }

    @Test func anUnreachableServerIsAConfigurationError() throws {
        let home = TempHome()
        let r = try ChatbenchProcess.run(["probe", "--base-url", "http://127.0.0.1:9/v1"], home: home.path)
        #expect(r.status == 2 && r.stderr.contains("cannot reach http://127.0.0.1:9: connection refused"), "\(r.stderr)")
        #expect(!r.stderr.contains("NSURLErrorDomain"), "\(r.stderr)")
    }

    /// A server that takes the connection and never answers: each request gives up after --timeout
    /// (10 s by default, not a minute), and the message says it timed out, in words.
    @Test func aServerThatNeverAnswersTimesOutPromptlyAndSaysSo() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        try #require(bound)
        let url = "http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))/v1"   // listening, never accepting: the kernel completes the handshake
        let home = TempHome()
        let started = Date()
        let r = try ChatbenchProcess.run(["probe", "--base-url", url, "--timeout", "1"], home: home.path)
        #expect(Date().timeIntervalSince(started) < 8, "took \(Date().timeIntervalSince(started)) s")
        #expect(r.status == 2 && r.stderr.contains("cannot reach http://127.0.0.1:") && r.stderr.contains("timed out"), "\(r.stderr)")
        #expect(!r.stderr.contains("NSURLErrorDomain"), "\(r.stderr)")
        #expect(Probe.defaultTimeout == 10)
        let bad = try ChatbenchProcess.run(["probe", "--base-url", url, "--timeout", "0"], home: home.path)
        #expect(bad.status == 2 && bad.stderr.contains("--timeout"), "\(bad.stderr)")
    }

    @Test func aBaseURLWithAPortOutOfRangeIsAConfigurationError() throws {
        let home = TempHome()
        let r = try ChatbenchProcess.run(["probe"], home: home.path, extraEnv: ["OPENAI_BASE_URL": "http://127.0.0.1:99999/v1"])
        #expect(r.status == 2 && r.stderr.contains("port 99999 is outside 1-65535") && !r.stderr.contains("NSURLErrorDomain"), "\(r.stderr)")
    }

    @Test func theTableIsMarkdown() {
        let t = ProbeCommand.table([ProbeRow("streaming", .pass, "a|b")])
        #expect(t.contains("| streaming | pass        | a\\|b |"))
    }
}
