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

    @Test func aServerErrorIsAClearMessageAndTheMessageIsKept() throws {
        let server = try FakeServer()
        let home = TempHome()
        let sem = DispatchSemaphore(value: 0)
        Task { try? await server.faults([["kind": "status", "status": 401, "body": ["error": ["message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"]]]]); sem.signal() }
        sem.wait()
        let r = try send(home, server, ["--session", "s", "Remember this please."])
        #expect(r.status == 1)
        #expect(r.stderr.contains("401") && r.stderr.contains("Incorrect API key provided.") && r.stderr.contains("kept"))
        #expect(!r.stderr.contains(Self.key))
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
        #expect(refused.status == 1 && refused.stderr.contains("cannot reach http://127.0.0.1:9"))
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
