import Foundation
import Testing
import TestSupport
@testable import ChatEngine

/// A small deterministic generator (SplitMix64): the same seed gives the same inputs, so a failure
/// reproduces exactly.

enum Fuzz {
    static let corpus: [String] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzCorpus/seeds.txt")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { $0.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\r", with: "\r") }
    }()

    static let pieces = ["data: ", "event: ", "id: ", ": ", "\n", "\r\n", "\r", "{", "}", "[", "]", "\"", "\\", "\\u", "d83d", ":", ",", "0", "-1",
                         "1e9", "true", "null", "type", "response.output_text.delta", "delta", "漢", "😀", "\u{301}", "\u{0}", "\u{7f}", " ", "[DONE]"]

    /// A string mutated from a corpus entry or built from pieces.
    static func input(_ g: inout SeededRandom) -> String {
        var s = Int.random(in: 0..<3, using: &g) == 0 && !corpus.isEmpty ? corpus.randomElement(using: &g)! : ""
        for _ in 0..<Int.random(in: 0..<24, using: &g) {
            let piece = pieces.randomElement(using: &g)!
            if s.isEmpty || Bool.random(using: &g) { s += piece } else {
                let i = s.index(s.startIndex, offsetBy: Int.random(in: 0...s.count, using: &g))
                s.insert(contentsOf: piece, at: i)
            }
        }
        return s
    }
}

@Suite struct FuzzTests {
    @Test func sseParserNeverCrashesAndChunkingNeverChangesTheEvents() throws {
        var g = SeededRandom(seed: 1)
        for _ in 0..<fuzzIterations {
            let bytes = Array(Fuzz.input(&g).utf8)
            var whole = SSEParser()
            let expected = try whole.feed(bytes) + whole.finish()
            var split = SSEParser()
            var got: [SSEEvent] = []
            var i = 0
            while i < bytes.count {
                let n = Int.random(in: 1...max(1, bytes.count - i), using: &g)
                got += try split.feed(bytes[i..<(i + n)])
                i += n
            }
            got += split.finish()
            #expect(got == expected, "\(bytes)")
            for e in got { _ = try? StreamEventDecoder.decode(e.data) }
        }
    }

    @Test func jsonParserAgreesWithFoundationOnAcceptanceAndValue() {
        var g = SeededRandom(seed: 2)
        for _ in 0..<fuzzIterations {
            let text = Fuzz.input(&g)
            let mine = JSONParser.parse(text)
            let theirs = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)).map(JSONValue.init(any:))
            // Foundation accepts some lone surrogates and NULs differently; ours must never accept what is not JSON.
            if mine != nil && theirs == nil && !text.contains("\\u") && !text.contains("\u{0}") {
                Issue.record("accepted non-JSON: \(text.debugDescription)")
            }
            if let m = mine, let t = theirs, !text.contains("\\u") {
                #expect((try? WireJSON.encodeString(m)) == (try? WireJSON.encodeString(t)), "\(text.debugDescription)")
            }
            if let m = mine { _ = Item(json: m) }   // any JSON is some item: never a crash
        }
    }

    @Test func wireDecodingNeverCrashes() {
        var g = SeededRandom(seed: 3)
        for _ in 0..<fuzzIterations {
            let data = Data(Fuzz.input(&g).utf8)
            _ = try? JSONDecoder().decode(Response.self, from: data)
            _ = try? JSONDecoder().decode(ResponseStreamEvent.self, from: data)
            _ = try? JSONDecoder().decode(ErrorEnvelope.self, from: data)
            _ = try? JSONDecoder().decode(ItemList.self, from: data)
        }
    }
}
