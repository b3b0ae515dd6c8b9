import Foundation
import Testing
import TestSupport
@testable import ChatEngine

/// A clock the tests move.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now: Double = 1_800_000_000
    func read() -> Double { lock.lock(); defer { lock.unlock() }; return now }
    func advance(_ seconds: Double) { lock.lock(); now += seconds; lock.unlock() }
}

/// About `tokens` tokens of text that states no fact.
func filler(_ tokens: Int, _ seed: Int = 0) -> String {
    let words = ["river", "stone", "cloud", "paper", "window", "garden", "lamp", "bridge"]
    var s = ""
    var i = seed
    while s.utf8.count < tokens * 4 { s += words[i % words.count] + " "; i += 1 }
    return s
}

@Suite struct SealingTests {
    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hash(Array("".utf8)).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var s = SHA256()   // fed in uneven pieces: the same digest
        for piece in ["abcdbcdecdefdefgefghfghighij", "hijkijkljklmklmnlmnomnop", "nopq"] { s.update(Array(piece.utf8)) }
        #expect(s.finish().hex == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)).hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func hmacMatchesRFC4231() {
        #expect(HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)).hex
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Case 6: a key longer than a block is hashed first.
        #expect(HMACSHA256.mac(key: [UInt8](repeating: 0xaa, count: 131), message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)).hex
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func onlyTheSameSecretOpensAndAnyChangeIsRefused() {
        let sealer = Sealer(secret: Sealer.newSecret())
        let text = "The user said: My name is Priya. I live in Lisbon. ✓"
        let sealed = sealer.seal(text)
        #expect(sealer.open(sealed) == text)
        #expect(!sealed.contains("Priya"))
        #expect(sealer.seal(text) != sealed)   // a fresh nonce each time
        #expect(Sealer(secret: Sealer.newSecret()).open(sealed) == nil)
        var rng = SeededRandom(seed: 19)
        for _ in 0..<200 {   // every single-character change is detected
            var chars = Array(sealed)
            let i = Int.random(in: Sealer.prefix.count..<chars.count, using: &rng)
            let replacement: Character = chars[i] == "A" ? "B" : "A"
            chars[i] = replacement
            #expect(sealer.open(String(chars)) == nil)
        }
    }

    @Test func arbitraryTextNeverOpensAndNeverTraps() {
        let sealer = Sealer(secret: [UInt8](repeating: 7, count: 32))
        var rng = SeededRandom(seed: 1919)
        let alphabet = Array("cbseal1.ABCxyz-_=+/0189 \u{0}é")
        for _ in 0..<fuzzIterations {
            let n = Int.random(in: 0..<120, using: &rng)
            let s = (Bool.random(using: &rng) ? Sealer.prefix : "") + String((0..<n).map { _ in alphabet.randomElement(using: &rng)! })
            #expect(sealer.open(s) == nil)
        }
    }
}

@Suite struct CompactionTests {
    func ask(_ b: OfflineBackend, _ text: String, after prev: String? = nil, threshold: Int? = nil, trigger: Bool = false,
             conversation: String? = nil) async throws -> Response {
        var input: [Item] = [.userText(text)]
        if trigger { input.append(.opaque(.object(["type": .string("compaction_trigger")]))) }
        var r = CreateResponseRequest(model: "gpt-4.1", input: .items(input), previousResponseID: prev, conversation: conversation)
        if let threshold { r.context_management = .array([.object(["type": .string("compaction"), "compact_threshold": .int(Int64(threshold))])]) }
        return try await b.createResponse(r)
    }

    @Test(arguments: ServerStateKind.allCases) func aChainCompactsWhenItsInputCrossesTheThresholdAndStillRemembers(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        var r = try await ask(b, "My name is Priya and I live in Lisbon.", threshold: 1000)
        var compactedAt: Response?
        for i in 0..<20 {
            r = try await ask(b, filler(150, i), after: r.id, threshold: 1000)
            let input = r.usage?.input_tokens ?? 0
            if r.output.first?.type == "compaction" { compactedAt = r; break }
            #expect(input <= 1000, "no compaction although the input was \(input) tokens")
        }
        let compacted = try #require(compactedAt)
        #expect((compacted.usage?.input_tokens ?? 0) > 1000)
        #expect(compacted.output.count == 2 && compacted.output[1].role == "assistant")
        let sealed = try #require(compacted.output[0].jsonString().contains("encrypted_content") ? compacted.output[0] : nil)
        #expect(!sealed.jsonString().contains("Priya"))   // opaque to clients
        let next = try await ask(b, "What's my name and where do I live?", after: compacted.id, threshold: 1000)
        #expect((next.usage?.input_tokens ?? 0) < 400, "the context after a compaction is the compaction item and what follows")
        #expect(next.outputText.contains("Priya") && next.outputText.contains("Lisbon"), "\(next.outputText)")
    }

    @Test(arguments: ServerStateKind.allCases) func aTriggerCompactsNowAndMustBeTheLastItem(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r1 = try await ask(b, "My name is Priya.")
        let r2 = try await ask(b, "I have a cat named Miso.", after: r1.id, trigger: true)
        #expect(r2.output.map(\.type) == ["compaction", "message"])
        let inputs = try await b.listInputItems(responseID: r2.id, query: ListQuery(order: "asc"))
        #expect(inputs.data.map(\.type) == ["message"], "the trigger is not stored as input")
        let r3 = try await ask(b, "What's my name? What's my cat's name?", after: r2.id)
        #expect(r3.outputText.contains("Priya") && r3.outputText.contains("Miso"))
        await expectAPIError(status: 400, code: "invalid_value", param: "input") {
            _ = try await b.createResponse(CreateResponseRequest(model: "m", input: .items([.opaque(.object(["type": .string("compaction_trigger")])), .userText("hi")])))
        }
        await expectAPIError(status: 400, param: "context_management") {
            var req = CreateResponseRequest(model: "m", input: .text("hi"))
            req.context_management = .array([.object(["type": .string("compaction"), "compact_threshold": .int(10)])])
            _ = try await b.createResponse(req)
        }
    }

    @Test(arguments: ServerStateKind.allCases) func compactionItemsFromAnotherServerOrChangedAreRefused(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state), let otherRig = try StateRig.make(state) else { return }
        defer { rig.close(); otherRig.close() }
        let mine = try rig.backend()
        let other = try otherRig.backend()
        let r = try await ask(other, "My name is Priya.", trigger: true)
        let foreign = r.output[0]
        await expectAPIError(status: 400, code: "invalid_encrypted_content", param: "input") {
            _ = try await mine.createResponse(CreateResponseRequest(model: "m", input: .items([foreign, .userText("What's my name?")])))
        }
        let own = try await ask(mine, "My name is Priya.", trigger: true).output[0]
        guard case .opaque(var v) = own, case .object(var o) = v, let sealed = o["encrypted_content"]?.stringValue else { Issue.record("no content"); return }
        let accepted = try await mine.createResponse(CreateResponseRequest(model: "m", input: .items([own, .userText("What's my name?")])))
        #expect(accepted.outputText.contains("Priya"))
        o["encrypted_content"] = .string(String(sealed.dropLast()) + (sealed.last == "A" ? "B" : "A"))
        v = .object(o)
        let changed = Item.opaque(v)
        await expectAPIError(status: 400, code: "invalid_encrypted_content") {
            _ = try await mine.createResponse(CreateResponseRequest(model: "m", input: .items([changed, .userText("What's my name?")])))
        }
    }

    @Test(arguments: ServerStateKind.allCases) func theCompactEndpointReturnsUserMessagesThenOneItemThatTheNextTurnReads(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let r1 = try await ask(b, "My name is Priya.")
        let r2 = try await ask(b, "I'm a nurse.", after: r1.id)
        let compacted = try await b.compactResponse(CreateResponseRequest(model: "gpt-4.1", previousResponseID: r2.id))
        #expect(compacted.object == "response.compaction")
        #expect(compacted.output.map(\.type) == ["message", "message", "compaction"])
        #expect(compacted.output.prefix(2).allSatisfy { $0.role == "user" })
        #expect(compacted.usage.input_tokens > 0 && compacted.usage.output_tokens > 0)
        await expectAPIError(status: 404) { _ = try await b.retrieveResponse(id: compacted.id) }   // nothing stored
        let next = try await b.createResponse(CreateResponseRequest(model: "gpt-4.1", input: .items(compacted.output + [.userText("What do I do for a living, and what's my name?")])))
        #expect(next.outputText.contains("nurse") && next.outputText.contains("Priya"), "\(next.outputText)")
        // With input only (the SDK's "input" mode) it compacts that input.
        let fromInput = try await b.compactResponse(CreateResponseRequest(model: "gpt-4.1", input: .items([.userText("I live in Porto.")])))
        #expect(fromInput.output.map(\.type) == ["message", "compaction"])
    }

    @Test(arguments: ServerStateKind.allCases) func aStreamCarriesTheCompactionItemFirst(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        var req = CreateResponseRequest(model: "m", input: .items([.userText("My name is Priya."), .opaque(.object(["type": .string("compaction_trigger")]))]))
        req.stream = true
        var added: [(Int, String)] = []
        var completed: Response?
        for try await e in b.streamResponse(req) {
            if e.type == "response.output_item.added", let item = e.item { added.append((e.output_index ?? -1, item.type)) }
            if e.type == "response.output_text.delta" { #expect(e.output_index == 1) }
            if e.type == "response.completed" { completed = e.response }
        }
        #expect(added.map(\.0) == [0, 1] && added.map(\.1) == ["compaction", "message"])
        #expect(completed?.output.map(\.type) == ["compaction", "message"])
    }

    @Test(arguments: ServerStateKind.allCases) func aConversationCompactsAndKeepsEveryItemListed(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try rig.backend()
        let conv = try await b.createConversation(items: [], metadata: [:])
        _ = try await ask(b, "My name is Priya. " + filler(300), conversation: conv.id)
        let big = try await ask(b, filler(300, 3), conversation: conv.id)
        let c = try await ask(b, "I live in Lisbon.", trigger: true, conversation: conv.id)
        #expect(c.output.first?.type == "compaction")
        let after = try await ask(b, "What's my name and where do I live?", conversation: conv.id)
        #expect(after.outputText.contains("Priya") && after.outputText.contains("Lisbon"))
        #expect((after.usage?.input_tokens ?? 0) < (big.usage?.input_tokens ?? 0))
        let items = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(limit: 100, order: "asc"))
        #expect(items.data.count == 9 && items.data.contains { $0.type == "compaction" })
    }
}

@Suite struct TruncationTests {
    func backend(_ rig: StateRig, window: Int) throws -> OfflineBackend {
        try rig.backend(settings: .init(contextWindow: window))
    }
    func ask(_ b: OfflineBackend, _ text: String, after prev: String? = nil, auto: Bool, conversation: String? = nil) async throws -> Response {
        var r = CreateResponseRequest(model: "m", input: .text(text), previousResponseID: prev, conversation: conversation)
        r.truncation = auto ? "auto" : "disabled"
        return try await b.createResponse(r)
    }

    @Test(arguments: ServerStateKind.allCases) func disabledRefusesAnInputOverTheWindow(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try backend(rig, window: 300)
        var r = try await ask(b, "My name is Priya.", auto: false)
        await expectAPIError(status: 400, code: "context_length_exceeded", param: "input") {
            for i in 0..<10 { r = try await self.ask(b, filler(60, i), after: r.id, auto: false) }
        }
        await expectAPIError(status: 400, code: "context_length_exceeded") { _ = try await self.ask(b, filler(400), auto: true) }
        await expectAPIError(status: 400, code: "invalid_value", param: "truncation") {
            var req = CreateResponseRequest(model: "m", input: .text("hi")); req.truncation = "sometimes"
            _ = try await b.createResponse(req)
        }
    }

    @Test(arguments: ServerStateKind.allCases) func autoDropsTheOldestItemsAndTheModelForgetsThem(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try backend(rig, window: 300)
        var r = try await ask(b, "My name is Priya.", auto: true)
        for i in 0..<6 { r = try await ask(b, filler(40, i), after: r.id, auto: true) }
        r = try await ask(b, "I live in Lisbon.", after: r.id, auto: true)
        for i in 0..<2 { r = try await ask(b, filler(20, i), after: r.id, auto: true) }
        let q = try await ask(b, "What's my name? Where do I live?", after: r.id, auto: true)
        #expect((q.usage?.input_tokens ?? 0) <= 300)
        #expect(q.truncation == "auto")
        #expect(q.outputText.contains("Lisbon"))
        #expect(!q.outputText.contains("Priya"), "the turn that said the name was dropped: \(q.outputText)")
        // Later turns keep going from the truncated context.
        let more = try await ask(b, "Where do I live?", after: q.id, auto: true)
        #expect(more.outputText.contains("Lisbon") && (more.usage?.input_tokens ?? 0) <= 300)
    }

    @Test(arguments: ServerStateKind.allCases) func aConversationIsTruncatedButKeepsItsItems(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try backend(rig, window: 250)
        let conv = try await b.createConversation(items: [], metadata: [:])
        _ = try await ask(b, "My name is Priya.", auto: true, conversation: conv.id)
        for i in 0..<6 { _ = try await ask(b, filler(40, i), auto: true, conversation: conv.id) }
        let q = try await ask(b, "What's my name?", auto: true, conversation: conv.id)
        #expect((q.usage?.input_tokens ?? 0) <= 250)
        #expect(q.outputText.contains("don't know your name"), "\(q.outputText)")
        let items = try await b.listConversationItems(conversationID: conv.id, query: ListQuery(limit: 100, order: "asc"))
        #expect(items.data.count == 16)
    }
}

@Suite struct PromptCacheTests {
    func backend(_ rig: StateRig, _ clock: TestClock, retention: Double = 300) throws -> OfflineBackend {
        try rig.backend(settings: .init(cache: PromptCachePolicy(inMemoryRetention: retention)), clock: clock.read)
    }
    func send(_ b: OfflineBackend, _ items: [Item], after prev: String? = nil, key: String? = nil, retention: String? = nil) async throws -> Response {
        var r = CreateResponseRequest(model: "m", input: .items(items), previousResponseID: prev)
        r.prompt_cache_key = key
        r.prompt_cache_retention = retention
        return try await b.createResponse(r)
    }
    func cached(_ r: Response) -> Int { r.usage?.input_tokens_details?.cached_tokens ?? -1 }

    @Test(arguments: ServerStateKind.allCases) func promptsUnder1024TokensAreNeverCached(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try backend(rig, TestClock())
        let first = try await send(b, [.userText(filler(900))])
        let again = try await send(b, [.userText(filler(900))])
        #expect(first.usage!.input_tokens < 1024 && cached(again) == 0)
    }

    @Test(arguments: ServerStateKind.allCases) func aChainHitsItsParentsPromptInWhole128TokenBlocks(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try backend(rig, TestClock())
        let r1 = try await send(b, [.userText("My name is Priya. " + filler(1500))])
        #expect(cached(r1) == 0)
        let r2 = try await send(b, [.userText("What's my name?")], after: r1.id)
        let in1 = r1.usage!.input_tokens
        #expect(cached(r2) == in1 / 128 * 128, "the parent's prompt, in whole blocks: \(cached(r2)) of \(in1)")
        #expect(cached(r2) % 128 == 0 && cached(r2) <= r2.usage!.input_tokens)
        let r3 = try await send(b, [.userText("And again?")], after: r2.id)
        #expect(cached(r3) == r2.usage!.input_tokens / 128 * 128)
    }

    @Test(arguments: ServerStateKind.allCases) func aHitEndsAtTheFirstDifference(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let b = try backend(rig, TestClock())
        let shared = Item.userText(filler(1100))
        _ = try await send(b, [shared, .userText("A" + filler(600, 1))])
        let other = try await send(b, [shared, .userText("B" + filler(600, 1))])
        // Identical: the first item (16-byte header + padded text) and the second item's 16-byte header.
        let sameBytes = TokenEstimator.tokens(shared) * 4 + 16
        #expect(cached(other) == sameBytes / 512 * 128)
        // A prefix that differs in its first item (a sliding window) gets nothing.
        let slid = try await send(b, [.userText("x" + filler(1100)), .userText("A" + filler(600, 1))])
        #expect(cached(slid) == 0)
    }

    @Test(arguments: ServerStateKind.allCases) func theKeySeparatesAndEntriesExpire(_ state: ServerStateKind) async throws {
        guard let rig = try StateRig.make(state) else { return }
        defer { rig.close() }
        let clock = TestClock()
        let b = try backend(rig, clock, retention: 60)
        let prompt: [Item] = [.userText(filler(1300))]
        _ = try await send(b, prompt, key: "alpha")
        #expect(cached(try await send(b, prompt, key: "beta")) == 0)
        clock.advance(59)
        #expect(cached(try await send(b, prompt, key: "alpha")) > 0)   // and this use renews it
        clock.advance(59)
        #expect(cached(try await send(b, prompt, key: "alpha")) > 0)
        clock.advance(61)
        #expect(cached(try await send(b, prompt, key: "alpha")) == 0, "unused for longer than the retention")
        _ = try await send(b, prompt, key: "day", retention: "24h")
        clock.advance(3600)
        #expect(cached(try await send(b, prompt, key: "day", retention: "24h")) > 0)
    }
}

/// What a fresh-eyed tester sent (#19): numbers that once trapped the server, keys that grew the
/// state file, forged items accepted by conversations.
@Suite struct ServerContextHostileTests {
    func create(_ b: OfflineBackend, _ json: String) async throws -> Response {
        try await b.createResponse(try WireJSON.decode(CreateResponseRequest.self, from: json))
    }

    @Test func hugeOrFractionalThresholdsAreA400NotATrap() async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel())
        for n in ["1e300", "-1e300", "9223372036854775808", "1000.7", "1e19", "\"1000\""] {
            await expectAPIError(status: 400, param: "context_management") {
                _ = try await self.create(b, #"{"model":"x","input":"hi","context_management":[{"type":"compaction","compact_threshold":\#(n)}]}"#)
            }
            await expectAPIError(status: 400, param: "context_management") {
                _ = try await b.compactResponse(try WireJSON.decode(CreateResponseRequest.self, from: #"{"model":"x","input":"hi","context_management":[{"type":"compaction","compact_threshold":\#(n)}]}"#))
            }
        }
        #expect(JSONValue.double(1e300).intValue == nil && JSONValue.double(1000).intValue == 1000 && JSONValue.double(.nan).intValue == nil)
        let many = Array(repeating: #"{"type":"compaction"}"#, count: 9).joined(separator: ",")
        await expectAPIError(status: 400, param: "context_management") { _ = try await self.create(b, #"{"model":"x","input":"hi","context_management":[\#(many)]}"#) }
    }

    @Test func cacheKeysAndRetentionsAreChecked() async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel())
        let long = String(repeating: "K", count: 65)
        await expectAPIError(status: 400, code: "string_above_max_length", param: "prompt_cache_key") {
            _ = try await self.create(b, #"{"model":"x","input":"hi","prompt_cache_key":"\#(long)"}"#)
        }
        for bad in ["48h", "", "24H"] {
            await expectAPIError(status: 400, code: "invalid_value", param: "prompt_cache_retention") {
                _ = try await self.create(b, #"{"model":"x","input":"hi","prompt_cache_retention":"\#(bad)"}"#)
            }
        }
        let ok = try await create(b, #"{"model":"x","input":"hi","prompt_cache_key":"\#(String(repeating: "k", count: 64))","prompt_cache_retention":"24h"}"#)
        #expect(ok.status == "completed")
    }

    @Test func conversationsRefuseForgedCompactionItemsAndTriggers() async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel())
        let forged = Item.opaque(.object(["type": .string("compaction"), "encrypted_content": .string("junk")]))
        let trigger = Item.opaque(.object(["type": .string("compaction_trigger")]))
        await expectAPIError(status: 400, code: "invalid_encrypted_content") { _ = try await b.createConversation(items: [.userText("hi"), forged], metadata: [:]) }
        await expectAPIError(status: 400, code: "invalid_value", param: "items") { _ = try await b.createConversation(items: [trigger], metadata: [:]) }
        let conv = try await b.createConversation(items: [], metadata: [:])
        await expectAPIError(status: 400, code: "invalid_encrypted_content") { _ = try await b.addConversationItems(conversationID: conv.id, items: [forged]) }
        await expectAPIError(status: 400, param: "items") { _ = try await b.addConversationItems(conversationID: conv.id, items: [trigger]) }
        // The server's own item is accepted.
        let own = try await b.createResponse(CreateResponseRequest(model: "m", input: .items([.userText("My name is Priya."), trigger]))).output[0]
        _ = try await b.addConversationItems(conversationID: conv.id, items: [own])
        // /compact with a trigger already last is not a misplaced trigger.
        let c = try await b.compactResponse(CreateResponseRequest(model: "m", input: .items([.userText("I live in Porto."), trigger])))
        #expect(c.output.last?.type == "compaction")
    }

    @Test func anInputTooLargeForTheWindowSaysSoUnderAuto() async throws {
        let b = try OfflineBackend(inMemoryWith: OfflineModel(), settings: .init(contextWindow: 100))
        var r = CreateResponseRequest(model: "m", input: .text(filler(200)))
        r.truncation = "auto"
        do { _ = try await b.createResponse(r); Issue.record("accepted") } catch let e as APIError {
            #expect(e.code == "context_length_exceeded" && e.message.contains("new input alone") && !e.message.contains("send truncation"))
        }
    }
}
