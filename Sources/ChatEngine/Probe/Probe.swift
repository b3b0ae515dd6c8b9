import Foundation

/// One row of the conformance table.
public struct ProbeRow: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Sendable { case pass, fail, unsupported }
    public var name: String
    public var status: Status
    public var detail: String
    public init(_ name: String, _ status: Status, _ detail: String) {
        self.name = name
        self.status = status
        self.detail = detail
    }
}

/// `chatbench probe`: checks the Responses/Conversations state semantics of any server, one row per
/// behaviour. A row passes, fails (saying what was seen) or is unsupported (the server has no such
/// route or refuses the feature). Everything it creates it deletes again at the end.
public final class Probe: @unchecked Sendable {
    let client: ProbeClient
    var model: String
    var createdResponses: [String] = []
    var createdConversations: [String] = []
    /// The name the recall checks plant and ask for: random, so no server can know it beforehand.
    let secretName = "Vex" + String((0..<5).map { _ in "bcdfghjklmnpqrstvwz".randomElement()! })

    public static let rowNames = ["create_retrieve", "chain_recall", "store_false", "delete_breaks_chain", "unknown_id_error",
                                  "conversations", "input_items_paging", "streaming", "compaction", "truncation",
                                  "cached_tokens", "error_envelope_request_id"]

    /// Seconds each request may take (`--timeout`): a server that accepts a request and never
    /// answers fails that row, not the whole run for a minute.
    public static let defaultTimeout = 10

    public init(baseURL: URL, apiKey: String?, model: String?, timeout: Int = Probe.defaultTimeout) {
        client = ProbeClient(baseURL: baseURL, apiKey: apiKey, timeout: timeout)
        self.model = model ?? ""
    }

    /// Runs every check in order, then deletes what it created. Throws only when the server cannot be reached.
    public func run() async throws -> [ProbeRow] {
        // The official API lists every model it has (image and audio ones too): ask a chat model there.
        if model.isEmpty { model = client.baseURL.host == "api.openai.com" ? "gpt-4.1-mini" : await firstModel() ?? "gpt-4.1-mini" }
        var rows: [ProbeRow] = []
        let checks: [(String, () async throws -> ProbeRow)] = [
            ("create_retrieve", createRetrieve), ("chain_recall", chainRecall), ("store_false", storeFalse),
            ("delete_breaks_chain", deleteBreaksChain), ("unknown_id_error", unknownID), ("conversations", conversations),
            ("input_items_paging", inputItemsPaging), ("streaming", streaming), ("compaction", compaction),
            ("truncation", truncation), ("cached_tokens", cachedTokens), ("error_envelope_request_id", errorEnvelope),
        ]
        for (name, check) in checks {
            do {
                var row = try await check()
                row.name = name
                rows.append(row)
            } catch let e as ProbeFailure {
                rows.append(ProbeRow(name, e.status, e.detail))
            } catch let e as URLError where rows.isEmpty {
                throw e
            } catch {
                rows.append(ProbeRow(name, .fail, "request failed: \(describe(error))"))
            }
        }
        await cleanUp()
        return rows
    }

    // MARK: Helpers

    /// A failed request as text: a timeout or a refused connection says so, naming the server.
    public func describe(_ error: Error) -> String { HTTPTransport.readable(error, url: client.baseURL) }

    /// Ends a check early with a verdict.
    struct ProbeFailure: Error {
        var status: ProbeRow.Status
        var detail: String
    }
    func fail(_ detail: String) -> ProbeFailure { ProbeFailure(status: .fail, detail: detail) }

    func firstModel() async -> String? {
        guard let r = try? await client.call("GET", "models"), r.status == 200 else { return nil }
        return r.json?["data"]?.arrayValue?.first?["id"]?.stringValue
    }

    static func message(_ role: String, _ text: String) -> JSONValue {
        .object(["type": .string("message"), "role": .string(role), "content": .string(text)])
    }

    /// POST /responses; returns the reply whatever its status.
    func createRaw(_ fields: [String: JSONValue]) async throws -> ProbeClient.Reply {
        var body = fields
        body["model"] = .string(model)
        let r = try await client.call("POST", "responses", json: .object(body))
        if r.status == 200, let id = r.json?["id"]?.stringValue { createdResponses.append(id) }
        return r
    }

    /// POST /responses that must succeed; a refusal ends the check as a failure.
    func create(_ fields: [String: JSONValue], what: String) async throws -> JSONValue {
        let r = try await createRaw(fields)
        guard r.status == 200, let json = r.json, json["id"]?.stringValue != nil else {
            throw fail("\(what): HTTP \(r.status) \(r.excerpt)")
        }
        return json
    }

    static func envelopeProblem(_ r: ProbeClient.Reply) -> String? {
        guard let e = r.json?["error"]?.objectValue else { return "no {\"error\": {…}} envelope: \(r.excerpt)" }
        guard e["message"]?.stringValue != nil else { return "the error has no message" }
        guard e["type"]?.stringValue != nil else { return "the error has no type" }
        let missing = ["param", "code"].filter { e[$0] == nil }
        return missing.isEmpty ? nil : "the error lacks \(missing.joined(separator: " and "))"
    }

    func cleanUp() async {
        for id in createdResponses.reversed() { _ = try? await client.call("DELETE", "responses/\(id)") }
        for id in createdConversations { _ = try? await client.call("DELETE", "conversations/\(id)") }
        createdResponses = []
        createdConversations = []
    }

    func forget(response id: String) { createdResponses.removeAll { $0 == id } }
}
