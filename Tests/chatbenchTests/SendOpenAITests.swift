import Foundation
import Testing

@Suite struct SendOpenAITests {
    static let key = "sk-test-SECRETKEYabcdef0123456789"

    func send(_ home: TempHome, _ server: FakeServer, _ args: [String]) throws -> ChatbenchProcess.Result {
        try ChatbenchProcess.run(["send", "--backend", "openai", "--base-url", server.baseURL] + args, home: home.path,
                                 extraEnv: ["OPENAI_API_KEY": Self.key])
    }

    @Test(arguments: [["--mode", "chain"], ["--mode", "conversation"], ["--mode", "client"], ["--mode", "client", "--api", "chat"]])
    func multiTurnMemoryAgainstTheFakeServer(args: [String]) throws {
        let server = try FakeServer()
        let home = TempHome()
        let first = try send(home, server, ["--session", "s"] + args + ["My name is Priya."])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try send(home, server, ["--session", "s", "I'm moving to Lisbon."])
        let third = try send(home, server, ["--session", "s", "--json", "Where am I moving?"])
        #expect(second.status == 0 && third.status == 0, "\(second.stderr) \(third.stderr)")
        // The fake's reply lists the user messages in the context it received: all three.
        #expect(third.stdout.contains("user said: My name is Priya. | I'm moving to Lisbon. | Where am I moving?"), "\(third.stdout)")
        for output in [first, second, third] {
            #expect(!output.stdout.contains(Self.key) && !output.stderr.contains(Self.key))
        }
    }

    @Test func theKeyNeverReachesAFile() throws {
        let server = try FakeServer()
        let home = TempHome()
        _ = try send(home, server, ["--session", "a", "--mode", "chain", "My name is Priya."])
        _ = try send(home, server, ["--session", "a", "What's my name?"])
        _ = try send(home, server, ["--session", "b", "--mode", "conversation", "Hello"])
        let secret = Array(Self.key.utf8)
        let files = FileManager.default.enumerator(atPath: home.path)?.allObjects as? [String] ?? []
        #expect(files.contains { $0.hasSuffix("workbench.sqlite") })
        for f in files {
            let bytes = [UInt8](FileManager.default.contents(atPath: home.path + "/" + f) ?? Data())
            #expect(!contains(bytes, secret), "the key is in \(f)")
            #expect(!contains(bytes, Array("SECRETKEY".utf8)), "part of the key is in \(f)")
        }
    }

    /// A base URL may carry a user and password (some put the key there): the session stores the URL
    /// without them, nothing of them reaches a file or an error, and the chain goes on when the same
    /// URL comes again from $OPENAI_BASE_URL.
    @Test func credentialsInTheBaseURLAreNeverStored() throws {
        let server = try FakeServer()
        let home = TempHome()
        let password = "PASSWORD-7c6b5a49"
        let withCredentials = server.baseURL.replacingOccurrences(of: "http://", with: "http://agent:\(password)@")
        let env = ["OPENAI_API_KEY": Self.key]
        let first = try ChatbenchProcess.run(["send", "--backend", "openai", "--base-url", withCredentials, "--session", "c", "--json", "My name is Priya."],
                                             home: home.path, extraEnv: env)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try ChatbenchProcess.run(["send", "--session", "c", "--json", "What's my name?"], home: home.path,
                                              extraEnv: env.merging(["OPENAI_BASE_URL": withCredentials]) { a, _ in a })
        #expect(second.status == 0, "\(second.stderr)")
        let one = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        let two = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect(two["previous_response_id"] as? String == one["response_id"] as? String, "the same server: the chain goes on")
        let shown = try ChatbenchProcess.run(["sessions", "show", "c"], home: home.path)
        // A URL refused for its port is quoted in the error, without the password.
        let refused = try ChatbenchProcess.run(["send", "--backend", "openai", "--base-url", "http://agent:\(password)@127.0.0.1:99999/v1", "--session", "d", "hi"],
                                               home: home.path, extraEnv: env)
        #expect(refused.status == 2 && refused.stderr.contains("port 99999"), "\(refused.stderr)")
        for out in [first.stdout, first.stderr, second.stdout, second.stderr, shown.stdout, refused.stderr] { #expect(!out.contains(password)) }
        let files = FileManager.default.enumerator(atPath: home.path)?.allObjects as? [String] ?? []
        for f in files {
            let bytes = [UInt8](FileManager.default.contents(atPath: home.path + "/" + f) ?? Data())
            #expect(!contains(bytes, Array(password.utf8)), "the password is in \(f)")
        }
    }

    @Test func aServerErrorIsAClearMessageAndTheMessageIsKept() async throws {
        let server = try FakeServer()
        let home = TempHome()
        // Awaited, not waited for with a semaphore: blocking the test pool's threads could deadlock it.
        try await server.faults([["kind": "status", "status": 401, "body": ["error": ["message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"]]]])
        let r = try send(home, server, ["--session", "s", "Remember this please."])
        #expect(r.status == 1)
        #expect(r.stderr.contains("401") && r.stderr.contains("Incorrect API key provided.") && r.stderr.contains("kept"))
        #expect(!r.stderr.contains(Self.key))
    }

    /// A script that asks for JSON gets JSON when things go wrong too: the server's error, and the failed
    /// turn as recorded; a usage error is an object as well. Standard error still says it, the key nowhere.
    @Test func failuresPrintJSONWithTheErrorAndTheFailedTurn() async throws {
        let server = try FakeServer()
        let home = TempHome()
        try await server.faults([["kind": "status", "status": 401,
                                          "body": ["error": ["message": "Incorrect API key provided: \(Self.key).", "type": "invalid_request_error", "code": "invalid_api_key"]]]])
        let r = try send(home, server, ["--session", "s", "--json", "Remember this please."])
        #expect(r.status == 1 && r.stderr.contains("401"))
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)")
        let error = try #require(obj["error"] as? [String: Any])
        #expect(error["kind"] as? String == "turn_failed" && error["status"] as? Int == 401)
        #expect(error["code"] as? String == "invalid_api_key" && error["type"] as? String == "invalid_request_error")
        #expect((error["request_id"] as? String)?.hasPrefix("req_") == true)   // the fake sends x-request-id
        #expect((error["message"] as? String)?.contains("Incorrect API key provided") == true)
        #expect(obj["status"] as? String == "failed" && obj["turn"] as? Int == 1 && obj["session"] as? String == "s")
        #expect(obj["error_code"] as? String == "invalid_api_key" && obj["reply"] as? String == "")
        #expect(!r.stdout.contains(Self.key) && !r.stderr.contains(Self.key))

        let empty = try send(home, server, ["--session", "s", "--json", "  "])
        let usage = try #require(try JSONSerialization.jsonObject(with: Data(empty.stdout.utf8)) as? [String: Any], "\(empty.stdout)")
        #expect(empty.status == 2 && (usage["error"] as? [String: Any])?["kind"] as? String == "usage")
        #expect(((usage["error"] as? [String: Any])?["message"] as? String)?.contains("the message is empty") == true)
        #expect(usage["session"] as? String == "s" && empty.stderr.contains("the message is empty"))
        // A command line the parser refuses (an unknown flag, no message) is JSON too with --json.
        for args in [["send", "--json", "--bogus", "x"], ["send", "--session", "u", "--json"]] {
            let r = try ChatbenchProcess.run(args, home: home.path)
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(args): \(r.stdout)")
            #expect(r.status == 2 && (obj["error"] as? [String: Any])?["kind"] as? String == "usage" && !r.stderr.isEmpty)
        }
        #expect(try ChatbenchProcess.run(["send", "--bogus", "x"], home: home.path).stdout.isEmpty, "without --json: stderr only")
        // The next turn works and its JSON has no error.
        let ok = try send(home, server, ["--session", "s", "--json", "Hello again."])
        let okObj = try #require(try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any])
        #expect(ok.status == 0 && okObj["error"] == nil && okObj["turn"] as? Int == 2)
    }

    @Test func configurationErrors() throws {
        let home = TempHome()
        let noKey = try ChatbenchProcess.run(["send", "--backend", "openai", "hi"], home: home.path)
        #expect(noKey.status == 2 && noKey.stderr.contains("OPENAI_API_KEY is not set"))
        let badURL = try ChatbenchProcess.run(["send", "--backend", "openai", "--base-url", "ftp://x", "hi"], home: home.path)
        #expect(badURL.status == 2 && badURL.stderr.contains("bad base URL"))
        let chatChain = try ChatbenchProcess.run(["send", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--api", "chat", "--mode", "chain", "hi"], home: home.path)
        #expect(chatChain.status == 2 && chatChain.stderr.contains("client-side modes only, client and layered"), "\(chatChain.stderr)")
        let refused = try ChatbenchProcess.run(["send", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "hi"], home: home.path)
        #expect(refused.status == 1 && refused.stderr.contains("cannot reach http://127.0.0.1:9: connection refused"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("0 connection_error"), "no HTTP status to print: \(refused.stderr)")
    }

    func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard hay.count >= needle.count, let first = needle.first else { return false }
        var i = 0
        while i <= hay.count - needle.count {
            if hay[i] == first && Array(hay[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }
}
