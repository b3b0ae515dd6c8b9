import Foundation
import Testing
@testable import ChatEngine

@Suite struct WireTests {
    @Test func decodesTheSpecResponseExampleLeniently() throws {
        let json = """
        {"id":"resp_67cc","object":"response","created_at":1741476777,"status":"completed","completed_at":1741476778,
         "error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4o-2024-08-06",
         "output":[{"type":"message","id":"msg_67cc","status":"completed","role":"assistant",
                    "content":[{"type":"output_text","text":"The image depicts …","annotations":[]}]},
                   {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"},
                   {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"opaque"}],
         "parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,
         "temperature":1,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1,"truncation":"disabled",
         "usage":{"input_tokens":328,"input_tokens_details":{"cached_tokens":0},"output_tokens":52,"total_tokens":380},
         "user":null,"metadata":{},"some_future_field":{"x":1}}
        """
        let r = try WireJSON.decode(Response.self, from: json)
        #expect(r.id == "resp_67cc")
        #expect(r.outputText == "The image depicts …")
        #expect(r.usage?.input_tokens == 328)
        #expect(r.usage?.cachedTokens == 0)
        #expect(r.usage?.output_tokens_details == nil)
        #expect(r.output.count == 3)
        // Function calls and reasoning items are kept as opaque JSON, not dropped, and round-trip exactly.
        guard case .opaque(let call) = r.output[1] else { Issue.record("function_call should be opaque"); return }
        #expect(call["arguments"]?.stringValue == "{\"city\":\"Paris\"}")
        let again = try WireJSON.decode(Response.self, from: WireJSON.encode(r))
        #expect(again == r)
        // A minimal response (only an id) decodes too.
        #expect(try WireJSON.decode(Response.self, from: #"{"id":"resp_x"}"#).output.isEmpty)
    }

    @Test func messageContentAsStringOrPartsAndEasyMessagesWithoutType() throws {
        let easy = try WireJSON.decode(Item.self, from: #"{"content": "First question", "role": "user"}"#)
        #expect(easy.message?.type == nil)
        #expect(easy.text == "First question")
        #expect(easy.jsonString() == #"{"content":"First question","role":"user"}"#)
        let typed = try WireJSON.decode(Item.self, from: """
            {"id": "msg_2e00", "content": [{"annotations": [], "text": "Hello from stub", "type": "output_text", "logprobs": []}],
             "role": "assistant", "status": "completed", "type": "message", "provider_data": {"model": "llama3"}}
            """)
        #expect(typed.text == "Hello from stub")
        #expect(typed.id == "msg_2e00")
        // Unknown keys (provider_data) and part fields (annotations, logprobs) survive a round trip.
        let back = try WireJSON.decode(JSONValue.self, from: typed.jsonString())
        #expect(back["provider_data"]?["model"]?.stringValue == "llama3")
        #expect(back["content"]?.arrayValue?.first?["logprobs"] == .array([]))
        let unknown = try WireJSON.decode(Item.self, from: #"{"type":"future_tool_call","payload":[1,2.5,null,true]}"#)
        #expect(unknown.type == "future_tool_call")
        #expect(try WireJSON.decode(JSONValue.self, from: unknown.jsonString()) == WireJSON.decode(JSONValue.self, from: #"{"type":"future_tool_call","payload":[1,2.5,null,true]}"#))
    }

    @Test func requestsEncodeExactlyWithNilOmitted() throws {
        let chain = CreateResponseRequest(model: "gpt-4.1", input: .text("And again"), previousResponseID: "resp_1")
        #expect(try WireJSON.encodeString(chain) == #"{"input":"And again","model":"gpt-4.1","previous_response_id":"resp_1"}"#)
        let conv = CreateResponseRequest(model: "gpt-4.1", input: .items([.userText("with conv")]), conversation: "conv_1")
        #expect(try WireJSON.encodeString(conv) == #"{"conversation":"conv_1","input":[{"content":"with conv","role":"user"}],"model":"gpt-4.1"}"#)
        // `conversation` as an object decodes too.
        let decoded = try WireJSON.decode(CreateResponseRequest.self, from: #"{"conversation":{"id":"conv_9"},"input":"x","unknown":1}"#)
        #expect(decoded.conversation?.id == "conv_9")
    }

    @Test func errorEnvelopeWritesNullParamAndCode() throws {
        let e = APIError(status: 404, type: "invalid_request_error", message: "nope")
        #expect(try WireJSON.encodeString(ErrorEnvelope(e)) == #"{"error":{"code":null,"message":"nope","param":null,"type":"invalid_request_error"}}"#)
        let parsed = try WireJSON.decode(ErrorEnvelope.self, from: #"{"error":{"message":"m","type":"t","param":"p","code":429}}"#)
        #expect(parsed.apiError(status: 429, requestID: "req_1") == APIError(status: 429, type: "t", code: "429", param: "p", message: "m", requestID: "req_1"))
    }

    @Test func streamEventsRoundTripWithRequiredFields() throws {
        let delta = ResponseStreamEvent.textDelta(itemID: "msg_1", index: 0, delta: "Hi", seq: 4)
        let json = try WireJSON.encodeString(delta)
        #expect(json == #"{"content_index":0,"delta":"Hi","item_id":"msg_1","logprobs":[],"output_index":0,"sequence_number":4,"type":"response.output_text.delta"}"#)
        #expect(try WireJSON.decode(ResponseStreamEvent.self, from: json) == delta)
        let err = ResponseStreamEvent.error(code: nil, message: "boom", param: nil, seq: 1)
        #expect(try WireJSON.encodeString(err) == #"{"code":null,"message":"boom","param":null,"sequence_number":1,"type":"error"}"#)
        let unknown = try WireJSON.decode(ResponseStreamEvent.self, from: #"{"type":"response.reasoning_summary_text.delta","delta":"x","sequence_number":3}"#)
        #expect(unknown.type == "response.reasoning_summary_text.delta" && !unknown.isTerminal)
    }

    @Test func listsAndDeletedObjects() throws {
        let list = try WireJSON.decode(ItemList.self, from: """
            {"object":"list","data":[{"type":"message","id":"msg_abc","status":"completed","role":"user","content":[{"type":"input_text","text":"Hello!"}]}],
             "first_id":"msg_abc","last_id":"msg_abc","has_more":false}
            """)
        #expect(list.data.first?.text == "Hello!")
        #expect(list.first_id == "msg_abc")
        let del = try WireJSON.decode(DeletedObject.self, from: #"{"id":"conv_1","object":"conversation.deleted","deleted":true}"#)
        #expect(del.deleted)
        let conv = try WireJSON.decode(Conversation.self, from: #"{"id":"conv_123","object":"conversation","created_at":1741900000,"metadata":{"topic":"demo"}}"#)
        #expect(conv.metadata["topic"] == "demo")
    }

    @Test func idsAreRandomAndPrefixed() {
        let ids = (0..<1000).map { _ in IDs.make("resp") }
        #expect(Set(ids).count == 1000)
        for id in ids.prefix(10) {
            #expect(id.hasPrefix("resp_") && id.count == 5 + 48)
            #expect(id.dropFirst(5).allSatisfy { $0.isHexDigit })
        }
        #expect(IDs.short("resp_7f3a1c2d") == "resp_7f3a…")
    }
}

@Suite struct JSONParserTests {
    @Test func agreesWithJSONSerializationOnValidJSON() throws {
        let samples = [
            #"{"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-2.5e3,"g":0,"h":"\u00e9\n\"\\\/\t","i":"😀 漢字","j":"\ud83d\ude00"}"#,
            #"  [1, 2.0, -0, 1E2, "x"]  "#, #""just a string""#, "123", "true", "null", "[]", "{}",
            #"{"content": "First question", "role": "user"}"#,
            #"{"big": 9007199254740993, "neg": -12, "small": 1e-7}"#,
        ]
        for s in samples {
            let mine = try #require(JSONParser.parse(s), "refused \(s)")
            let theirs = JSONValue(any: try JSONSerialization.jsonObject(with: Data(s.utf8), options: .fragmentsAllowed))
            #expect(try WireJSON.encodeString(mine) == WireJSON.encodeString(theirs), "\(s)")
        }
        #expect(JSONParser.parse(#"{"n":9007199254740993}"#)?["n"] == .int(9_007_199_254_740_993))  // integers stay exact
    }

    @Test func rejectsInvalidJSON() {
        for bad in ["", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "tru", "01", "1.", ".5", "\"unterminated", "\"bad \\x escape\"",
                    "\"raw \u{01} control\"", "{} {}", "[1 2]", "nul", String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
            #expect(JSONParser.parse(bad) == nil, "accepted \(bad.prefix(20))")
        }
        #expect(JSONParser.parse(#""\ud800 lone""#) == .string("\u{FFFD} lone"))
    }
}
