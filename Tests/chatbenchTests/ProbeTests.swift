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
        #expect(r.status == 2 && r.stderr.contains("cannot reach http://127.0.0.1:9/v1"), "\(r.stderr)")
    }

    @Test func theTableIsMarkdown() {
        let t = ProbeCommand.table([ProbeRow("streaming", .pass, "a|b")])
        #expect(t.contains("| streaming | pass        | a\\|b |"))
    }
}
