import Foundation
import Testing
@testable import ChatEngine

/// Numbers from servers, stored rows and the environment cannot trap chatbench (issue #15).
@Suite struct HostileNumbersTests {
    @Test func storedAbsurdTokenCountsSaturateInsteadOfStoppingTheScreen() throws {
        let store = try WorkbenchStore.inMemory()
        var s = try store.createSession(name: "s", mode: .chain, backend: "openai", model: "m")
        for n in 1...3 {
            let draft = TurnRecord(sessionID: s.id, number: n, mode: .chain, backend: "openai", model: "m", responseID: "resp_\(n)", itemsSent: 1,
                                   requestBytes: Int.max, inputTokens: Int.max, cachedTokens: Int.max, outputTokens: Int.max,
                                   status: .completed, createdAt: 0)
            (_, s) = try store.recordTurn(draft, userItem: .userText("hi"), userStatus: .complete, reply: .assistantMessage(id: nil, text: "yo"),
                                          replyStatus: .complete)
        }
        let m = try store.memoryState(for: s)   // what the screen computes at start
        #expect(m.totalInputTokens == Int.max && m.totalOutputTokens == Int.max && m.totalBytes == Int.max && m.spentTokens == Int.max)
    }

    @Test func aReplyWithHugeUsageDecodesWithoutOverflow() throws {
        let json = #"{"input_tokens": 9223372036854775807, "output_tokens": 9223372036854775807}"#
        let u = try JSONDecoder().decode(Usage.self, from: Data(json.utf8))
        #expect(u.total_tokens == Int.max)
        #expect(Int.max.saturatingAdd(1) == Int.max && Int.min.saturatingAdd(-1) == Int.min && 2.saturatingAdd(3) == 5)
    }

    @Test func outOfRangeTimeoutsAreRefusedWithAClearMessage() throws {
        for (name, value) in [("CHATBENCH_DEADLINE", "inf"), ("CHATBENCH_DEADLINE", "1e300"), ("CHATBENCH_DEADLINE", "nan"), ("CHATBENCH_DEADLINE", "-1"),
                              ("CHATBENCH_IDLE_TIMEOUT", "9223372036854775807"), ("CHATBENCH_IDLE_TIMEOUT", "0"), ("CHATBENCH_IDLE_TIMEOUT", "x")] {
            #expect {
                _ = try HTTPConfig.fromEnvironment([name: value, "OPENAI_API_KEY": "k"], baseURL: "http://127.0.0.1:9/v1")
            } throws: { e in
                "\(e)".contains(name) && "\(e)".contains("seconds")
            }
        }
        #expect(throws: ConfigurationError.self) { try EnvironmentNumber.whole(["CHATBENCH_STREAM_DELAY_MS": "9223372036854775807"], "CHATBENCH_STREAM_DELAY_MS", in: 0...10_000) }
        let ok = try HTTPConfig.fromEnvironment(["CHATBENCH_DEADLINE": "2.5", "CHATBENCH_IDLE_TIMEOUT": "7"], baseURL: "http://127.0.0.1:9/v1")
        #expect(ok.deadline == 2.5 && ok.idleTimeout == 7)
    }
}
