import Foundation
import Testing
@testable import ChatEngine

@Suite struct SSETests {
    func parse(_ chunks: [String]) throws -> [SSEEvent] {
        var p = SSEParser()
        var out: [SSEEvent] = []
        for c in chunks { out += try p.feed(Array(c.utf8)) }
        return out + p.finish()
    }

    @Test func responsesFramingWithCommentsAndMultilineData() throws {
        let events = try parse(["event: response.created\ndata: {\"a\":1}\n\n", ": keep-alive\n\n", "event: x\ndata: line1\ndata:line2\nid: 7\n\n"])
        #expect(events == [SSEEvent(event: "response.created", data: "{\"a\":1}", id: nil), SSEEvent(event: "x", data: "line1\nline2", id: "7")])
    }

    @Test func chunkBoundariesAnywhereAndEveryLineEnding() throws {
        let stream = "data: one\r\n\r\ndata: two\r\rdata: three\n\ndata: [DONE]\n\n"
        let whole = try parse([stream])
        #expect(whole.map(\.data) == ["one", "two", "three", "[DONE]"])
        // Every split point gives the same events.
        let bytes = Array(stream.utf8)
        for cut in 1..<bytes.count {
            var p = SSEParser()
            let a = try p.feed(bytes[..<cut]), b = try p.feed(bytes[cut...])
            #expect((a + b + p.finish()).map(\.data) == whole.map(\.data), "cut at \(cut)")
        }
        // Byte by byte, with a multi-byte character split.
        var p = SSEParser()
        var out: [SSEEvent] = []
        for b in Array("data: 漢字😀\n\n".utf8) { out += try p.feed([b]) }
        #expect(out.map(\.data) == ["漢字😀"])
    }

    @Test func aLastEventWithoutItsBlankLineIsStillDispatched() throws {
        #expect(try parse(["data: tail"]).map(\.data) == ["tail"])
        #expect(try parse(["event: only-a-name\n\n"]).isEmpty)
    }

    @Test func deltaFastPathAgreesWithJSONDecoder() throws {
        let samples = [
            #"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[],"sequence_number":4}"#,
            #"{"type": "response.output_text.delta", "delta": "quote \" and \\ and \n and \u00e9 漢", "sequence_number": 12, "item_id": "m", "output_index": 0, "content_index": 0, "logprobs": []}"#,
            #"{"type":"response.output_text.delta","delta":"x","obfuscation":"abc","sequence_number":-1}"#,
        ]
        for s in samples {
            let fast = try #require(StreamEventDecoder.flatDelta(s), "fast path refused \(s)")
            #expect(fast == (try WireJSON.decode(ResponseStreamEvent.self, from: s)))
        }
        // Anything else falls back to the decoder, with the same result.
        for s in [#"{"type":"response.completed","response":{"id":"resp_1"},"sequence_number":9}"#,
                  #"{"type":"response.output_text.delta","delta":"x","logprobs":[{"token":"x"}]}"#,
                  #"{"type":"response.output_text.delta","delta":"x","sequence_number":1.5}"#] {
            #expect(StreamEventDecoder.flatDelta(s) == nil)
            #expect(try StreamEventDecoder.decode(s) == (try WireJSON.decode(ResponseStreamEvent.self, from: s)))
        }
        #expect(throws: (any Error).self) { try StreamEventDecoder.decode("{not json") }
    }

    /// The error a Responses stream gives for one unreadable event.
    func firstError(_ data: String) async -> APIError? {
        let sse = AsyncThrowingStream<SSEEvent, Error> { c in
            c.yield(SSEEvent(event: nil, data: data, id: nil))
            c.finish()
        }
        do {
            for try await _ in responseEvents(sse, cancel: StreamCancel()) {}
            return nil
        } catch {
            return error as? APIError
        }
    }

    @Test func validJSONThatIsNotAResponsesEventIsNotCalledInvalidJSON() async throws {
        let chunk = #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}"#
        let e = try #require(await firstError(chunk))
        #expect(e.code == "malformed_event" && !e.message.contains("not valid JSON"), "\(e.message)")
        #expect(e.message.contains("not a Responses stream event") && e.message.contains("--api chat") && e.message.contains("--backend gateway"), "\(e.message)")
        let other = try #require(await firstError(#"{"hello":1}"#))
        #expect(other.message.contains("not a Responses stream event") && !other.message.contains("--api chat"), "\(other.message)")
        let broken = try #require(await firstError("{not json"))
        #expect(broken.message.contains("not valid JSON"), "\(broken.message)")
    }
}
