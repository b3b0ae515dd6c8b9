import Foundation
import Testing
@testable import ChatEngine

@Suite struct AttachTests {
    @Test func attachToAConversationAnAgentBuilt() async throws {
        let rig = try Rig()
        // An agent's conversation, made straight on the server.
        let conv = try await rig.backend.createConversation(items: [.userText("My name is Priya and I'm moving to Lisbon.")], metadata: [:])
        _ = try await rig.backend.createResponse(CreateResponseRequest(input: .text("I have a cat named Miso."), conversation: conv.id))
        try rig.session("agent", .chain)
        let s = try await rig.runner.attach(conv.id, to: "agent")
        #expect(s.mode == .conversation && s.conversationID == conv.id)
        let transcript = try rig.store.messages(session: s.id)
        #expect(transcript.map(\.content).first == "My name is Priya and I'm moving to Lisbon." && transcript.count == 3)
        let t = try await rig.send("Where am I moving, and what's my cat's name?", "agent")
        #expect(t.reply.contains("Lisbon") && t.reply.contains("Miso"))
        #expect(t.turn.conversationID == conv.id && t.turn.chainEvent == .continue && t.turn.itemsSent == 1)
        #expect(try rig.store.turns(session: s.id).first?.chainEvent == .attach)
    }

    @Test func attachToAChain() async throws {
        let rig = try Rig()
        let r1 = try await rig.backend.createResponse(CreateResponseRequest(input: .text("My name is Priya.")))
        let r2 = try await rig.backend.createResponse(CreateResponseRequest(input: .text("I'm 34."), previousResponseID: r1.id))
        try rig.session("agent", .chain)
        let s = try await rig.runner.attach(r2.id, to: "agent")
        #expect(s.chainHead == r2.id)
        #expect(try rig.store.messages(session: s.id).map(\.role) == [.user, .assistant, .user, .assistant])
        let t = try await rig.send("What's my name and how old am I?", "agent")
        #expect(t.reply.contains("Priya") && t.reply.contains("34"))
        #expect(t.turn.previousResponseID == r2.id && t.turn.itemsSent == 1)
        await #expect(throws: ConfigurationError.self) { try await rig.runner.attach(r1.id, to: "agent") }   // not over existing messages
        try rig.session("x", .chain)
        await #expect(throws: ConfigurationError.self) { try await rig.runner.attach("msg_nope", to: "x") }
    }
}
