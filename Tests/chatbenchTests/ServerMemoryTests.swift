import Foundation
import Testing

/// Issue #19 against the real binary: the official `openai` SDK and the Agents SDK's
/// `OpenAIResponsesCompactionSession`, unchanged, against `chatbench serve` with a 4,000-token window
/// and a 2-second prompt-cache retention (e2e/server_memory_sdk_e2e.py). Each SDK's check is skipped,
/// saying so, only when its package is not installed (CHATBENCH_PYTHON picks the interpreter).
@Suite struct ServerMemorySDKTests {
    @Test func compactionTruncationAndCachingThroughTheSDKs() async throws {
        let home = TempHome()
        let serve = try ServeProcess(["--quiet", "--context-window", "4000", "--cache-retention", "2"], home: home.path)
        let python = ProcessInfo.processInfo.environment["CHATBENCH_PYTHON"] ?? "python3"
        let (status, output) = await runE2E("server_memory_sdk_e2e.py", [serve.baseURL], python: python)
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok official_sdk") || output.contains("skip official_sdk: the 'openai' Python package is not installed"), "\(output)")
        #expect(output.contains("ok agents_sdk") || output.contains("skip agents_sdk: the 'openai-agents' Python package is not installed"), "\(output)")
    }

    @Test func badServerSettingsAreClearErrors() async throws {
        let home = TempHome()
        for (flag, value) in [("--context-window", "lots"), ("--context-window", "5"), ("--context-window", ""), ("--cache-retention", "-1"),
                              ("--cache-retention", "nan"), ("--cache-retention", "")] {
            let r = try ChatbenchProcess.run(["serve", "--port", "0", flag, value], home: home.path)
            #expect(r.status == 2 && r.stderr.contains(flag), "the error names the flag given: \(r.stderr)")
        }
        let env = try ChatbenchProcess.run(["serve", "--port", "0"], home: home.path, extraEnv: ["CHATBENCH_CONTEXT_WINDOW": "0"])
        #expect(env.status == 2 && env.stderr.contains("CHATBENCH_CONTEXT_WINDOW=0"), "\(env.stderr)")
        let ttl = try ChatbenchProcess.run(["serve", "--port", "0", "--state", "redis://127.0.0.1:1/0?ttl=5"], home: home.path)
        #expect(ttl.status == 2 && ttl.stderr.contains("ttl is for client sessions"), "a server's state does not expire: \(ttl.stderr)")
        let empty = try ChatbenchProcess.run(["send", "--session", "e", "--server-policy", "", "hi"], home: home.path)
        #expect(empty.status == 2 && empty.stderr.contains("server policy is empty"), "\(empty.stderr)")
    }
}

/// The real binary in tmux (e2e/screen_server_memory_e2e.py): compaction chosen in F2, the server
/// compacting a chain while the screen shows it, the 80x24 picker and compare column, and the context
/// X-ray opened on an old turn of a layered session (#20).
@Suite struct ScreenServerMemoryE2ETests {
    @Test func compactionChosenOnTheScreen() async throws {
        let (status, output) = await runE2E("screen_server_memory_e2e.py", [ChatbenchProcess.binary])
        #expect(status == 0, "\(output)")
        for flow in ["compaction_chosen_in_f2", "small_screen_picker_and_compare", "xray_on_an_old_turn"] {
            #expect(output.contains("ok \(flow)"), "\(flow): \(output)")
        }
    }
}
