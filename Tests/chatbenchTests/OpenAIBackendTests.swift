import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ChatEngine

/// Expects `body` to throw an APIError with this status (and code, when given).
func expectAPIError(status: Int, code: String? = nil, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected an APIError \(status)", sourceLocation: sourceLocation)
    } catch let e as APIError {
        #expect(e.status == status && (code == nil || e.code == code), "\(e)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected an APIError, got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct OpenAIBackendTests {
    func rig(_ server: FakeServer, chat: Bool = false, idle: Int = 5, streaming: Bool = true) throws -> (WorkbenchStore, Runner) {
        let store = try WorkbenchStore.inMemory()
        let backend: ResponsesBackend = chat ? ChatCompletionsBackend(config: server.config(idle: idle), defaultModel: "llama3")
                                             : OpenAIBackend(config: server.config(idle: idle), defaultModel: "gpt-4.1")
        return (store, Runner(store: store, backend: backend, streaming: streaming))
    }

    func session(_ store: WorkbenchStore, _ mode: MemoryMode, model: String = "gpt-4.1") throws {
        _ = try store.createSession(name: "s", mode: mode, backend: "openai", model: model)
    }

    @Test func chainTurnsSendExactlyTheDeltaAndTheServerRebuildsTheContext() async throws {
        let server = try FakeServer()
        let (store, runner) = try rig(server)
        try session(store, .chain)
        let t1 = try await runner.send("My name is Priya and I'm moving to Lisbon.", in: "s")
        let t2 = try await runner.send("Where am I moving?", in: "s")
        #expect(t2.reply.contains("user said: My name is Priya and I'm moving to Lisbon. | Where am I moving?"))
        let reqs = try await server.requests()
        #expect(reqs.count == 2)
        #expect(reqs[1]["path"] as? String == "/v1/responses")
        #expect(canonical(reqs[1]["body"]) == canonical(["model": "gpt-4.1", "stream": true, "previous_response_id": t1.turn.responseID!,
                                                         "input": [["role": "user", "content": "Where am I moving?"]]]))
        let headers = try #require(reqs[1]["headers"] as? [String: String])
        #expect(headers["authorization"] == "Bearer sk-test-0123456789abcdef")
        #expect(headers["content-type"] == "application/json")
        #expect(headers["openai-organization"] == "org-test")
        #expect(headers["openai-project"] == nil)
        // request_bytes is the exact HTTP body.
        #expect(t2.turn.requestBytes == Int(headers["content-length"] ?? "") )
        #expect(t2.turn.inputTokens != nil && t2.turn.inputTokens! > t1.turn.inputTokens!)
    }

    @Test func conversationTurnsCreateOnceThenSendTheConversationID() async throws {
        let server = try FakeServer()
        let (store, runner) = try rig(server, streaming: false)
        try session(store, .conversation)
        let t1 = try await runner.send("My name is Priya.", in: "s")
        let t2 = try await runner.send("What's my name?", in: "s")
        #expect(t2.reply.contains("user said: My name is Priya. | What's my name?"))
        let reqs = try await server.requests()
        #expect(reqs.map { $0["path"] as? String } == ["/v1/conversations", "/v1/responses", "/v1/responses"])
        #expect(canonical(reqs[0]["body"]) == "{}")
        // The first turn's request_bytes are exactly the bodies the server received (create + response).
        let sent = reqs.prefix(2).compactMap { Int(($0["headers"] as? [String: String])?["content-length"] ?? "") }.reduce(0, +)
        #expect(t1.turn.requestBytes == sent)
        let conv = try #require(t2.turn.conversationID)
        #expect(canonical(reqs[2]["body"]) == canonical(["model": "gpt-4.1", "conversation": conv, "input": [["role": "user", "content": "What's my name?"]]]))
    }

    @Test func clientTurnsSendTheWholeHistory() async throws {
        let server = try FakeServer()
        let (store, runner) = try rig(server, streaming: false)
        try session(store, .client)
        let t1 = try await runner.send("Hi, I'm Ana.", in: "s")
        _ = try await runner.send("Who am I?", in: "s")
        let body = try #require(try await server.requests().last?["body"] as? [String: Any])
        #expect(body["store"] as? Bool == false && body["previous_response_id"] == nil && body["conversation"] == nil)
        let input = try #require(body["input"] as? [[String: Any]])
        // The whole history: the user items as the SDK writes them, the reply as the server returned it.
        #expect(canonical(input[0]) == canonical(["role": "user", "content": "Hi, I'm Ana."]))
        #expect(input[1]["role"] as? String == "assistant" && canonical(input[1]["content"]).contains(t1.reply))
        #expect(canonical(input[2]) == canonical(["role": "user", "content": "Who am I?"]))
    }

    @Test func chatCompletionsTurnsSendMessagesAndReadTheUsageChunk() async throws {
        let server = try FakeServer()
        let (store, runner) = try rig(server, chat: true)
        try session(store, .client, model: "llama3")
        let t1 = try await runner.send("Hi", in: "s")
        let t2 = try await runner.send("Again", in: "s")
        #expect(t2.reply.contains("user said: Hi | Again"))
        let body = try #require(try await server.requests().last?["body"] as? [String: Any])
        #expect(canonical(body) == canonical(["model": "llama3", "stream": true, "stream_options": ["include_usage": true],
                                              "messages": [["role": "user", "content": "Hi"], ["role": "assistant", "content": t1.reply],
                                                           ["role": "user", "content": "Again"]]]))
        #expect((t2.turn.inputTokens ?? 0) > 0 && (t2.turn.outputTokens ?? 0) > 0)
        let headers = try #require(try await server.requests().last?["headers"] as? [String: String])
        #expect(t2.turn.requestBytes == Int(headers["content-length"] ?? ""))
    }

    /// A retried request sent its body twice: the turn's request_bytes counts both.
    @Test func requestBytesCountRetries() async throws {
        let server = try FakeServer()
        let (store, runner) = try rig(server, chat: false)
        try session(store, .chain, model: "m")
        try await server.faults([["kind": "status", "status": 429, "headers": ["retry-after-ms": "10"]]])
        let t = try await runner.send("Hi, I'm Ana.", in: "s")
        let lengths = try await server.requests().compactMap { ($0["headers"] as? [String: String])?["content-length"].flatMap { Int($0) } }
        #expect(lengths.count == 2 && lengths[0] == lengths[1])
        #expect(t.turn.requestBytes == lengths.reduce(0, +))
    }

    @Test func rateLimitsAreRetriedHonouringRetryAfter() async throws {
        let server = try FakeServer()
        try await server.faults([["kind": "status", "status": 429, "headers": ["retry-after-ms": "50"]],
                           ["kind": "status", "status": 500]])
        let backend = OpenAIBackend(config: server.config())
        let r = try await backend.createResponse(CreateResponseRequest(model: "m", input: .text("hello")))
        #expect(r.outputText.contains("hello"))
        let reqs = try await server.requests()
        #expect(reqs.count == 3)
        #expect(reqs.map { ($0["headers"] as? [String: String])?["x-stainless-retry-count"] } == ["0", "1", "2"])
    }

    @Test func retriesStopAtTwoAndHonourXShouldRetry() async throws {
        let server = try FakeServer()
        let backend = OpenAIBackend(config: server.config())
        try await server.faults(Array(repeating: ["kind": "status", "status": 503, "headers": ["retry-after-ms": "10"]], count: 3))
        await expectAPIError(status: 503) { _ = try await backend.createResponse(CreateResponseRequest(model: "m", input: .text("x"))) }
        #expect(try await server.requests().count == 3)
        _ = try await server.call("POST", "/_reset")
        try await server.faults([["kind": "status", "status": 429, "headers": ["retry-after-ms": "10", "x-should-retry": "false"]]])
        await expectAPIError(status: 429) { _ = try await backend.createResponse(CreateResponseRequest(model: "m", input: .text("x"))) }
        #expect(try await server.requests().count == 1)
        // Streams are retried the same way before any event arrives.
        _ = try await server.call("POST", "/_reset")
        try await server.faults([["kind": "status", "status": 429, "headers": ["retry-after-ms": "10"]]])
        var text = ""
        for try await e in backend.streamResponse(CreateResponseRequest(model: "m", input: .text("streamed"))) { text += e.delta ?? "" }
        let count = try await server.requests().count
        #expect(text.contains("streamed") && count == 2)
    }

    @Test func authErrorsAreTypedAndNotRetried() async throws {
        let server = try FakeServer()
        try await server.faults([["kind": "status", "status": 401,
                            "body": ["error": ["message": "Incorrect API key provided: sk-test-****cdef.", "type": "invalid_request_error", "param": NSNull(), "code": "invalid_api_key"]]]])
        let backend = OpenAIBackend(config: server.config())
        do {
            _ = try await backend.createResponse(CreateResponseRequest(model: "m", input: .text("x")))
            Issue.record("expected 401")
            return
        } catch let e as APIError {
            #expect(e.status == 401 && e.code == "invalid_api_key" && e.type == "invalid_request_error")
            #expect(e.requestID?.hasPrefix("req_") == true)
            #expect(!e.description.contains("0123456789abcdef"))
        }
        #expect(try await server.requests().count == 1)
    }

    @Test func malformedBodiesAndTruncatedStreamsAreClearErrors() async throws {
        let server = try FakeServer()
        let backend = OpenAIBackend(config: server.config())
        try await server.faults([["kind": "malformed"]])
        await expectAPIError(status: 200, code: "malformed_json") { _ = try await backend.createResponse(CreateResponseRequest(model: "m", input: .text("x"))) }
        try await server.faults([["kind": "truncate"]])
        var deltas = 0
        do {
            for try await e in backend.streamResponse(CreateResponseRequest(model: "m", input: .text("a b c d e f"))) where e.delta != nil { deltas += 1 }
            Issue.record("expected a truncated stream error")
        } catch let e as APIError {
            #expect(e.code == "truncated_stream")
        }
        #expect(deltas == 2)
        try await server.faults([["kind": "reset"]])
        await expectAPIError(status: 0) {
            for try await _ in backend.streamResponse(CreateResponseRequest(model: "m", input: .text("a b c d e f"))) {}
        }
        let chat = ChatCompletionsBackend(config: server.config())
        try await server.faults([["kind": "truncate"]])
        await expectAPIError(status: 200, code: "truncated_stream") {
            for try await _ in chat.streamResponse(CreateResponseRequest(model: "m", input: .text("a b c d e f"))) {}
        }
    }

    @Test func aStallPastTheIdleTimeoutFails() async throws {
        let server = try FakeServer()
        var config = server.config(idle: 1)
        config.maxRetries = 0
        let backend = OpenAIBackend(config: config)
        // The stall (90 s) is far longer than the idle timeout (1 s): only the timeout can end it early,
        // even on a loaded machine whose full test run starves async work for many seconds.
        try await server.faults([["kind": "stall", "seconds": 90]])
        let started = Date()
        do {
            for try await _ in backend.streamResponse(CreateResponseRequest(model: "m", input: .text("a b c"))) {}
            Issue.record("expected an idle timeout")
        } catch let e as APIError {
            #expect(e.type == "connection_error" && e.message.contains("idle timeout"), "\(e)")
        }
        #expect(Date().timeIntervalSince(started) < 60, "the timeout, not the stall's end (90 s), ended it (margin for a loaded machine)")
    }

    @Test func deltasArriveWhileTheServerIsStillSendingAndCancelClosesTheConnection() async throws {
        let server = try FakeServer(delayMs: 150)
        let backend = OpenAIBackend(config: server.config())
        // Measured in a separate process (the real binary), so this process's busy test threads cannot
        // blur it: the reply's first bytes reach stdout long before the server finishes sending.
        let home = TempHome()
        let (first, end) = await offPool { () -> (Double?, Double) in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ChatbenchProcess.binary)
            p.arguments = ["send", "--backend", "openai", "--base-url", server.baseURL, "--session", "s", "one two three four five six seven"]
            var env = ProcessInfo.processInfo.environment
            env["CHATBENCH_HOME"] = home.path
            env["OPENAI_API_KEY"] = "sk-test-incremental"
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            let started = Date()
            try? p.run()
            var first: Double?
            while true {
                let d = out.fileHandleForReading.availableData
                if d.isEmpty { break }
                if first == nil { first = Date().timeIntervalSince(started) }
            }
            let end = Date().timeIntervalSince(started)
            kill(p.processIdentifier, SIGKILL)
            var st: Int32 = 0
            waitpid(p.processIdentifier, &st, 0)
            return (first, end)
        }
        let firstDelta = try #require(first)
        #expect(end - firstDelta > 0.5, "first delta at \(firstDelta)s, stream ended at \(end)s")
        // Cancel: stop reading after the first delta; the server sees the connection close.
        // A long reply (~30 s at 150 ms a word), so the server is surely still sending when we stop reading.
        let long = (1...200).map { "w\($0)" }.joined(separator: " ")
        for try await e in backend.streamResponse(CreateResponseRequest(model: "m", input: .text(long))) where e.delta != nil {
            break
        }
        var disconnected = false
        // Liveness, not speed: while other tests hold the 2-thread pool, cancellation takes longer to propagate.
        for _ in 0..<200 where !disconnected {
            try await Task.sleep(for: .milliseconds(100))
            disconnected = try await server.requests().last?["disconnected"] as? Bool == true
        }
        #expect(disconnected)
    }

    @Test func aTwentyMegabyteReplyArrivesWhole() async throws {
        let server = try FakeServer()
        let (store, runner) = try rig(server)
        try session(store, .chain)
        try await server.faults([["kind": "big", "mb": 20]])
        let t = try await runner.send("Tell me everything.", in: "s")
        #expect(t.reply.utf8.count == 20 * 16 * 65536)
        #expect(try store.messages(session: t.session.id).last?.content.utf8.count == 20 * 16 * 65536)
    }

    @Test func aRateLimitStormGivesUpWithAClearMessage() async throws {
        let server = try FakeServer()
        try await server.faults(Array(repeating: ["kind": "status", "status": 429, "headers": ["retry-after-ms": "20"],
                                                  "body": ["error": ["message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"]]], count: 10))
        let backend = OpenAIBackend(config: server.config())
        do {
            _ = try await backend.createResponse(CreateResponseRequest(model: "m", input: .text("x")))
            Issue.record("expected a 429")
        } catch let e as APIError {
            #expect(e.status == 429 && e.code == "rate_limit_exceeded" && e.message.contains("gave up after 3 attempts"), "\(e)")
        }
    }

    @Test func aChainTheServerLostIsRepaired() async throws {
        let server = try FakeServer()
        let (store, runner) = try rig(server)
        try session(store, .chain)
        let t1 = try await runner.send("My name is Priya.", in: "s")
        _ = try await server.call("DELETE", "/v1/responses/\(t1.turn.responseID!)")
        let t2 = try await runner.send("What's my name?", in: "s")
        #expect(t2.turn.chainEvent == .repair && t2.turn.errorCode == "previous_response_not_found")
        #expect(t2.reply.contains("user said: My name is Priya. | What's my name?"))
    }

    @Test func retryDelays() {
        let h = { (fields: [String: String]) in HTTPURLResponse(url: URL(string: "http://x")!, statusCode: 429, httpVersion: nil, headerFields: fields) }
        #expect(HTTPTransport.retryDelay(attempt: 0, headers: h(["retry-after-ms": "250"]), maxDelay: 60) == 0.25)
        #expect(HTTPTransport.retryDelay(attempt: 0, headers: h(["retry-after": "2"]), maxDelay: 60) == 2)
        #expect(HTTPTransport.retryDelay(attempt: 0, headers: h(["retry-after": "120"]), maxDelay: 60) == nil)
        #expect(HTTPTransport.retryDelay(attempt: 0, headers: nil, maxDelay: 60, jitter: 0) == 0.5)
        #expect(HTTPTransport.retryDelay(attempt: 1, headers: nil, maxDelay: 60, jitter: 1) == 0.75)
        #expect(HTTPTransport.retryDelay(attempt: 10, headers: nil, maxDelay: 60, jitter: 0) == 8)
        #expect(HTTPConfig.maskedHint("sk-proj-abcdefghijkl1234") == "sk-…1234")
    }
}

