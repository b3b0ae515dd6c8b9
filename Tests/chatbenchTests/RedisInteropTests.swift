import Foundation
import Testing
import TestSupport
@testable import ChatEngine

/// chatbench and the Python Agents SDK's own `RedisSession` on one Redis session: what either side
/// writes, the other reads back as exactly the same JSON. Needs `pip install openai-agents redis`
/// (.ci/run does it); CHATBENCH_PYTHON picks the interpreter (default: python3 on the PATH).
@Suite struct RedisInteropTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("e2e/redis_interop.py").path

    /// Items of every kind the SDK stores, with text that needs escaping.
    static let items: [String] = [
        #"{"content":"My name is Priya — I'm moving to Lisbon 🇵🇹, \"soon\"\n漢字","role":"user"}"#,
        #"{"id":"msg_2e00","content":[{"annotations":[],"text":"Nice to meet you.","type":"output_text","logprobs":[]}],"role":"assistant","status":"completed","type":"message"}"#,
        #"{"arguments":"{\"city\":\"Lisbon\"}","call_id":"call_1","name":"get_weather","type":"function_call","id":"fc_94bf","status":"completed"}"#,
        #"{"call_id":"call_1","output":"Sunny, 24°C","type":"function_call_output"}"#,
        #"{"id":"rs_1","summary":[{"text":"thinking","type":"summary_text"}],"type":"reasoning","encrypted_content":null}"#,
        #"{"id":"__fake_id__","content":[{"annotations":[],"text":"ok","type":"output_text"}],"role":"assistant","status":"completed","type":"message","provider_data":{"model":"gpt-4o","response_id":"chatcmpl-1","score":0.25,"n":3,"ok":true}}"#,
    ]

    func python(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [ProcessInfo.processInfo.environment["CHATBENCH_PYTHON"] ?? "python3", Self.script] + args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The SDK can run here (else the reason is printed and the test returns).
    func sdkAvailable(_ server: RedisServer) throws -> Bool {
        let r = try python([server.url, "x", "check"])
        if r.status != 0 { print("RedisInteropTests: \(r.out.trimmingCharacters(in: .whitespacesAndNewlines))") }
        return r.status == 0
    }

    static func json(_ text: String) throws -> JSONValue { try #require(JSONValue.parse(text), "\(text)") }
    static var expected: [JSONValue] { items.map { JSONValue.parse($0)! } }

    @Test func itemsThePythonSDKWritesReadBackExactly() throws {
        guard let server = try RedisServer.start(), try sdkAvailable(server) else { return }
        let file = NSTemporaryDirectory() + "chatbench-items-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try ("[" + Self.items.joined(separator: ",") + "]").write(toFile: file, atomically: true, encoding: .utf8)
        let add = try python([server.url, "py-1", "add", file])
        #expect(add.status == 0, "\(add.out)")
        let s = RedisAgentSession(sessionID: "py-1", client: RedisClient(url: server.redisURL))
        let read = try s.getItems().map { try Self.json($0.jsonString()) }
        #expect(read == Self.expected)
        #expect(try s.getItems(limit: 2).map { try Self.json($0.jsonString()) } == Array(Self.expected.suffix(2)))
        // chatbench appends; the SDK reads everything, its own items untouched, ours after them.
        try s.addItems([.userText("from chatbench ✓")])
        let got = try python([server.url, "py-1", "get"])
        #expect(got.status == 0, "\(got.out)")
        #expect(try Self.json(got.out) == .array(Self.expected + [try Self.json(#"{"role":"user","content":"from chatbench ✓"}"#)]))
        let popped = try python([server.url, "py-1", "pop"])
        #expect(try Self.json(popped.out) == Self.json(#"{"content":"from chatbench ✓","role":"user"}"#))
        #expect(try s.count() == Self.items.count)
    }

    @Test func itemsChatbenchWritesTheSDKReadsBackExactly() throws {
        guard let server = try RedisServer.start(), try sdkAvailable(server) else { return }
        let url = try RedisURL(parsing: server.url + "?key_prefix=team:chats")
        let s = RedisAgentSession(sessionID: "cb-1", client: RedisClient(url: url))
        try s.addItems(Self.items.map { Item.parse($0)! })
        let got = try python([server.url, "cb-1", "get"], env: ["KEY_PREFIX": "team:chats"])
        #expect(got.status == 0, "\(got.out)")
        #expect(try Self.json(got.out) == .array(Self.expected))
        let last3 = try python([server.url, "cb-1", "get", "3"], env: ["KEY_PREFIX": "team:chats"])
        #expect(try Self.json(last3.out) == .array(Array(Self.expected.suffix(3))))
    }

    /// A Python agent and `chatbench send` take turns on one session and each sees the other's items.
    @Test func aPythonAgentAndChatbenchShareOneSession() throws {
        guard let server = try RedisServer.start(), try sdkAvailable(server) else { return }
        let home = TempHome()
        let file = home.path + "/first.json"
        try #"[{"content":"My name is Priya and I'm moving to Lisbon.","role":"user"},{"id":"msg_1","content":[{"annotations":[],"text":"Noted.","type":"output_text","logprobs":[]}],"role":"assistant","status":"completed","type":"message"}]"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try python([server.url, "shared", "add", file]).status == 0)
        let r = try ChatbenchProcess.run(["send", "--session", "shared", "--store", server.url, "Where am I moving?"], home: home.path)
        #expect(r.status == 0 && r.stdout.contains("Lisbon"), "\(r.stdout) \(r.stderr)")
        let got = try python([server.url, "shared", "get"])
        let items = try #require(try Self.json(got.out).arrayValue)
        #expect(items.count == 4)
        #expect(items[2] == (try Self.json(#"{"content":"Where am I moving?","role":"user"}"#)))
        #expect(items[3]["role"]?.stringValue == "assistant")
        #expect(Item(json: items[3]).text.contains("Lisbon"))
    }
}
