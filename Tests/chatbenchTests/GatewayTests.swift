import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ChatEngine

/// `chatbench serve --upstream`: the Responses state kept by chatbench, each turn answered by a
/// Chat Completions upstream (the fake server, which records what it receives and answers
/// "context N items; user said: a | b | …" from the messages it was sent).
@Suite struct GatewayTests {
    static let upstreamKey = "sk-upstream-SECRET-5f4e3d2c1b"

    struct Rig {
        let home = TempHome()
        let upstream: FakeServer
        let serve: ServeProcess
        let client: OpenAIBackend
        init(idle: Int = 5, extraArgs: [String] = []) throws {
            upstream = try FakeServer()
            serve = try ServeProcess(["--upstream", upstream.baseURL, "--upstream-key-env", "UPSTREAM_KEY"] + extraArgs, home: home.path,
                                     env: ["UPSTREAM_KEY": GatewayTests.upstreamKey, "CHATBENCH_IDLE_TIMEOUT": String(idle)])
            var config = HTTPConfig(baseURL: URL(string: serve.baseURL)!, apiKey: nil)
            config.maxRetries = 0    // see each status as serve sent it
            client = OpenAIBackend(config: config, defaultModel: "llama3")
        }
        func chatRequests() async throws -> [[String: Any]] {
            try await upstream.requests().filter { ($0["path"] as? String) == "/v1/chat/completions" }
        }
    }

    static func messages(_ request: [String: Any]) -> [(role: String, content: String)] {
        ((request["body"] as? [String: Any])?["messages"] as? [[String: Any]] ?? []).map { ($0["role"] as? String ?? "", $0["content"] as? String ?? "") }
    }

    @Test func twentyChainedTurnsSendOnlyTheNewMessageWhileTheUpstreamGetsTheWholeContext() async throws {
        let rig = try Rig()
        var previous: String?
        var replies: [String] = []
        for i in 1...20 {
            let request = CreateResponseRequest(model: "llama3", input: .items([.userText("fact \(i)")]), previousResponseID: previous)
            #expect(request.input?.items.count == 1)   // the client sends only the new message
            let r = try await rig.client.createResponse(request)
            previous = r.id
            replies.append(r.outputText)
        }
        let sent = try await rig.chatRequests()
        #expect(sent.count == 20)
        for (n, request) in sent.enumerated() {
            let msgs = Self.messages(request)
            #expect(msgs.count == 2 * n + 1, "turn \(n + 1): \(msgs.count) messages")
            // The rebuilt context, in order: each earlier user message and the upstream's own reply to it.
            for k in 0..<n {
                #expect(msgs[2 * k].role == "user" && msgs[2 * k].content == "fact \(k + 1)")
                #expect(msgs[2 * k + 1].role == "assistant" && msgs[2 * k + 1].content == replies[k])
            }
            #expect(msgs.last?.content == "fact \(n + 1)")
        }
        // Recall: the 20th answer comes from a context holding every earlier turn.
        #expect(replies[19] == "context 39 items; user said: " + (1...20).map { "fact \($0)" }.joined(separator: " | "))
    }

    @Test func usageIsTheUpstreamsAndConversationsRecallThroughTheUpstream() async throws {
        let rig = try Rig()
        let conv = try await rig.client.createConversation(items: [.userText("My name is Priya.")], metadata: [:])
        let request = CreateResponseRequest(model: "llama3", input: .items([.userText("What's my name?")]), conversation: conv.id)
        let r = try await rig.client.createResponse(request)
        #expect(r.outputText == "context 2 items; user said: My name is Priya. | What's my name?")
        // The fake counts 1 + len/4 per message: (1 + 17/4) + (1 + 15/4) = 5 + 4 = 9.
        #expect(r.usage?.input_tokens == 9)
        let items = try await rig.client.listConversationItems(conversationID: conv.id, query: ListQuery(limit: 10, order: "asc"))
        #expect(items.data.map(\.text) == ["My name is Priya.", "What's my name?", r.outputText])
    }

    @Test func streamingPassesEachDeltaOnAsTheUpstreamSendsIt() async throws {
        // The upstream is silent while held: a loaded machine may take longer than the usual 5 s idle
        // timeout to pass the first delta on and release it, which would end the turn as a timeout.
        let rig = try Rig(idle: 60)
        try await rig.upstream.faults([["kind": "hold"]])   // the upstream waits after its first delta until released
        var sawDeltaWhileHeld = false
        var completed: Response?
        for try await e in rig.client.streamResponse(CreateResponseRequest(model: "llama3", input: .text("hello there"))) {
            if e.type == "response.output_text.delta" && !sawDeltaWhileHeld {
                sawDeltaWhileHeld = true
                _ = try await rig.upstream.call("POST", "/_release")
            }
            if e.type == "response.completed" { completed = e.response }
        }
        #expect(sawDeltaWhileHeld)
        #expect(completed?.outputText == "context 1 items; user said: hello there")
        let held = try await rig.chatRequests().first
        #expect(held?["hold_expired"] as? Bool == false, "the first delta only reached the client after the upstream finished")
        #expect((held?["body"] as? [String: Any])?["stream"] as? Bool == true)
    }

    @Test func aClientThatLeavesMidStreamStopsTheUpstreamRequestAndNothingIsStored() async throws {
        let rig = try Rig()
        // After its first delta the upstream waits for release, then keeps sending for 30 s: it is
        // still sending when the gateway notices the client left, so only a dropped request ends early.
        try await rig.upstream.faults([["kind": "hold", "trickle": true]])
        for try await e in rig.client.streamResponse(CreateResponseRequest(model: "m", input: .text("hi"))) {
            if e.type == "response.output_text.delta" { break }       // the client leaves
        }
        _ = try await rig.upstream.call("POST", "/_release")
        // The gateway must drop the upstream request: the upstream's writes then fail. (Polled; no duration is asserted.)
        var disconnected = false
        for _ in 0..<800 where !disconnected {
            disconnected = try await rig.chatRequests().first?["disconnected"] as? Bool == true
            if !disconnected { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(disconnected, "the upstream sent its whole reply: the gateway kept reading after the client left")
        let db = try OfflineBackend(path: rig.home.path + "/gateway-server.sqlite").db
        #expect(try db.query("SELECT count(*) FROM responses")[0][0].int == 0)
    }

    @Test func upstreamFailuresBecomeResponsesErrorsAndStoreNothing() async throws {
        let rig = try Rig(idle: 1)
        let noRetry = ["x-should-retry": "false"]
        try await rig.upstream.faults([["kind": "status", "status": 429, "headers": noRetry]])
        await expectAPIError(status: 429) { _ = try await rig.client.createResponse(CreateResponseRequest(model: "m", input: .text("a"))) }
        try await rig.upstream.faults([["kind": "status", "status": 503, "headers": noRetry]])
        await expectAPIError(status: 502, code: "upstream_error") { _ = try await rig.client.createResponse(CreateResponseRequest(model: "m", input: .text("b"))) }
        try await rig.upstream.faults([["kind": "stall", "seconds": 4]])
        await expectAPIError(status: 504, code: "upstream_timeout") { _ = try await rig.client.createResponse(CreateResponseRequest(model: "m", input: .text("c"))) }
        // Streamed: a refusal before the first delta is the same error with its status, not a 200 stream.
        try await rig.upstream.faults([["kind": "status", "status": 429, "headers": noRetry]])
        await expectAPIError(status: 429) {
            for try await _ in rig.client.streamResponse(CreateResponseRequest(model: "m", input: .text("d"))) {}
        }
        // A failure mid-stream ends it with an error event, never response.completed.
        try await rig.upstream.faults([["kind": "stall", "seconds": 4]])
        var types: [String] = []
        for try await e in rig.client.streamResponse(CreateResponseRequest(model: "m", input: .text("e"))) { types.append(e.type) }
        #expect(types.contains("response.output_text.delta") && types.last == "error" && !types.contains("response.completed"), "\(types)")
        let db = try OfflineBackend(path: rig.home.path + "/gateway-server.sqlite").db
        #expect(try db.query("SELECT count(*) FROM responses")[0][0].int == 0)
    }

    @Test func theUpstreamKeyIsUsedButNeverLoggedReturnedOrStored() async throws {
        let rig = try Rig()
        let key = Self.upstreamKey
        // A hostile upstream that echoes the key in its error message.
        try await rig.upstream.faults([["kind": "status", "status": 401, "headers": ["x-should-retry": "false"],
                                        "body": ["error": ["message": "bad key Bearer \(key)", "type": "invalid_request_error", "param": NSNull(), "code": "invalid_api_key"]]]])
        var errorText = ""
        do { _ = try await rig.client.createResponse(CreateResponseRequest(model: "m", input: .text("x"))) } catch { errorText = "\(error)" }
        #expect(errorText.contains("[redacted key]") && !errorText.contains(key), "\(errorText)")
        let ok = try await rig.client.createResponse(CreateResponseRequest(model: "m", input: .text("y")))
        _ = try await rig.client.createResponse(CreateResponseRequest(model: "m", input: .text("z"), previousResponseID: ok.id))
        let sent = try await rig.chatRequests()
        #expect(sent.allSatisfy { ($0["headers"] as? [String: String])?["authorization"] == "Bearer \(key)" })
        #expect(!rig.serve.stderr.contains(key) && rig.serve.stderr.contains("POST /v1/responses"))
        for file in try FileManager.default.contentsOfDirectory(atPath: rig.home.path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: rig.home.path + "/" + file))
            #expect(data.range(of: Data(key.utf8)) == nil, "the key is in \(file)")
        }
    }
}

/// The gateway's flags: mistakes are configuration errors (exit 2) that name the flag.
@Suite struct GatewayFlagTests {
    @Test func badGatewayFlagsAreExplained() throws {
        let home = TempHome()
        let orphan = try ChatbenchProcess.run(["serve", "--port", "0", "--upstream-model", "llama3"], home: home.path)
        #expect(orphan.status == 2 && orphan.stderr.contains("need --upstream URL"), "\(orphan.stderr)")
        let unset = try ChatbenchProcess.run(["serve", "--port", "0", "--upstream", "http://127.0.0.1:9/v1", "--upstream-key-env", "NO_SUCH_KEY_VAR"], home: home.path)
        #expect(unset.status == 2 && unset.stderr.contains("NO_SUCH_KEY_VAR is not set"), "\(unset.stderr)")
        let badURL = try ChatbenchProcess.run(["serve", "--port", "0", "--upstream", "ftp://x"], home: home.path)
        #expect(badURL.status == 2 && badURL.stderr.contains("bad base URL"), "\(badURL.stderr)")
    }
}

/// `--backend gateway --base-url URL`: the workbench's chain and conversation modes on a server that
/// only speaks Chat Completions, with the gateway in-process.
@Suite struct WorkbenchGatewayTests {
    @Test(arguments: ["chain", "conversation"])
    func serverModesWorkOnAChatOnlyServer(mode: String) async throws {
        let upstream = try FakeServer()
        let home = TempHome()
        func send(_ args: [String]) throws -> ChatbenchProcess.Result {
            try ChatbenchProcess.run(["send", "--session", "s"] + args, home: home.path)
        }
        let first = try send(["--backend", "gateway", "--base-url", upstream.baseURL, "--mode", mode, "My name is Priya."])
        let second = try send(["I'm moving to Lisbon."])   // the session remembers the gateway and its URL
        let third = try send(["--json", "Where am I moving?"])
        #expect(first.status == 0 && second.status == 0 && third.status == 0, "\(first.stderr) \(second.stderr) \(third.stderr)")
        #expect(third.stdout.contains("user said: My name is Priya. | I'm moving to Lisbon. | Where am I moving?"), "\(third.stdout)")
        #expect(third.stdout.contains("\"backend\":\"gateway\"") || third.stdout.contains("\"backend\": \"gateway\""), "\(third.stdout)")
        let paths = try await upstream.requests().map { $0["path"] as? String ?? "" }
        #expect(paths == Array(repeating: "/v1/chat/completions", count: 3))
    }
}

/// The official `openai` SDK and the Agents SDK (`Runner.run` with `previous_response_id`), unchanged,
/// against the gateway: e2e/gateway_sdk_e2e.py. Each is skipped, saying so, when its package is not
/// installed (CHATBENCH_PYTHON picks the interpreter, e.g. a virtualenv's).
@Suite struct GatewaySDKTests {
    @Test func theSDKsRunUnchangedAgainstTheGateway() async throws {
        let home = TempHome()
        let upstream = try FakeServer()
        let serve = try ServeProcess(["--quiet", "--upstream", upstream.baseURL], home: home.path)
        let python = ProcessInfo.processInfo.environment["CHATBENCH_PYTHON"] ?? "python3"
        let (status, output) = await runE2E("gateway_sdk_e2e.py", [serve.baseURL], python: python)
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok official_sdk") || output.contains("skip official_sdk: the 'openai' Python package is not installed"), "\(output)")
        #expect(output.contains("ok agents_sdk") || output.contains("skip agents_sdk: the 'openai-agents' Python package is not installed"), "\(output)")
        _ = upstream
    }
}
