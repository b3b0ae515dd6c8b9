import Foundation
import Testing

/// `chatbench serve` under the attacks of issue #15, against the real process
/// (Tests/chatbenchTests/e2e/serve_hostile_e2e.py; each check ends by proving the server still answers).
@Suite struct ServeHostileTests {
    static let key = "sk-hostile-test-0123456789"

    func run(_ checks: [String], flags: [String] = [], stderr: String? = nil, fdLimit: Int? = nil) async throws -> String {
        let home = TempHome()
        let server = try ServeProcess(["--api-key", Self.key] + flags, home: home, stderr: stderr, fdLimit: fdLimit)
        defer { server.stop() }
        let (status, output) = await ServeProcess.script("serve_hostile_e2e.py", [String(server.port), Self.key, String(server.process.processIdentifier)] + checks)
        #expect(status == 0, "\(output)")
        for check in checks { #expect(output.contains("ok \(check)"), "\(check): \(output)") }
        #expect(server.isRunning, "the server died")
        return output
    }

    @Test func malformedChunkSizesAreRefusedWithoutATrap() async throws {
        _ = try await run(["traps"], flags: ["--quiet"])
    }

    @Test func theKeyIsCheckedBeforeAnyBodyIsRead() async throws {
        _ = try await run(["key_before_body"], flags: ["--quiet"])
    }

    @Test func framingIsStrictAndAFramingErrorClosesTheConnection() async throws {
        _ = try await run(["strict_framing"], flags: ["--quiet"])
    }

    @Test func headHasNoBodyAnd405SaysWhatIsAllowed() async throws {
        _ = try await run(["head_and_allow"], flags: ["--quiet"])
    }

    @Test func onLoopbackAForeignHostOrOriginIsRefused() async throws {
        _ = try await run(["host_and_origin"], flags: ["--quiet"])
    }

    @Test func pastTheConnectionCapNewClientsGet503() async throws {
        _ = try await run(["connection_cap"], flags: ["--quiet", "--max-connections", "40"])
    }

    @Test func outOfDescriptorsNewClientsGet503AndTheLoopDoesNotSpin() async throws {
        _ = try await run(["out_of_descriptors"], flags: ["--quiet"], fdLimit: 40)
    }

    @Test func clientsThatStopReadingDoNotFreezeOthers() async throws {
        _ = try await run(["stalled_readers"], flags: ["--quiet"])
    }

    @Test func aHeadThatNeverEndsGets408() async throws {
        _ = try await run(["slow_head"], flags: ["--quiet"])
    }

    @Test func theAccessLogShowsControlCharactersInsteadOfObeyingThem() async throws {
        let log = NSTemporaryDirectory() + "chatbench-access-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        _ = try await run(["log_injection"], stderr: log)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("FORGED"), "\(text)")
        #expect(!text.contains("\u{1b}") && !text.contains("\u{07}"), "\(text.debugDescription)")
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("FORGED") }, "a forged log line: \(text)")
        #expect(text.contains("\\x0aFORGED") && text.contains("\\x1b"), "\(text)")
    }
}
