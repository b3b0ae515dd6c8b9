import ChatEngine
import Foundation

/// `chatbench probe`: the Responses state-semantics conformance table for any server.
enum ProbeCommand {
    static let spec = CommandSpec(
        name: "probe", summary: "check a server's Responses/Conversations state semantics and print a table",
        positionals: "", minPositionals: 0, maxPositionals: 0,
        flags: [
            FlagSpec("--base-url", "URL", "the server (default: $OPENAI_BASE_URL, else https://api.openai.com/v1)"),
            FlagSpec("--model", "MODEL", "model to ask (default: gpt-4.1-mini on api.openai.com, else the first of GET /models)"),
            FlagSpec("--timeout", "SECONDS", "seconds each request may take (default \(Probe.defaultTimeout)); a request past it fails its row"),
            FlagSpec("--json", nil, "print {\"server\", \"rows\": [{\"name\", \"status\", \"detail\"}]}"),
        ],
        details: """
            Rows: create_retrieve, chain_recall, store_false, delete_breaks_chain, unknown_id_error,
            conversations, input_items_paging, streaming, compaction, truncation, cached_tokens,
            error_envelope_request_id. Each passes, fails (with what was seen) or is unsupported
            (no such route, or the feature is refused). The key is $OPENAI_API_KEY. Everything the
            probe creates it deletes again. Exit status 1 when a row fails.
            """,
        run: { try await run($0) })

    static func run(_ inv: Invocation) async throws -> Int32 {
        let config = try HTTPConfig.fromEnvironment(inv.environment, baseURL: inv.value("--base-url"))
        var timeout = Probe.defaultTimeout
        if let t = inv.value("--timeout") {
            guard let n = Int(t), (1...3600).contains(n) else { throw ConfigurationError("--timeout takes a whole number of seconds from 1 to 3600") }
            timeout = n
        }
        let probe = Probe(baseURL: config.baseURL, apiKey: config.apiKey, model: inv.value("--model"), timeout: timeout)
        let rows: [ProbeRow]
        do { rows = try await probe.run() } catch {
            throw ConfigurationError(probe.describe(error))
        }
        // Details quote what the server sent: keys cut out, control characters shown (JSON kept valid).
        Secrets.register(config.apiKey)
        let out = StdoutWriter()
        if inv.has("--json") {
            struct Report: Encodable { var server: String; var rows: [ProbeRow] }
            out.write(OutsideText.json(Secrets.redact(try WireJSON.encodeString(Report(server: config.baseURL.absoluteString, rows: rows)))) + "\n")
        } else {
            out.write(OutsideText.visible(Secrets.redact("probe of \(config.baseURL.absoluteString)\n" + table(rows))))
        }
        try out.finish()
        return rows.contains { $0.status == .fail } ? 1 : 0
    }

    /// A Markdown table (so the README can show one as printed).
    static func table(_ rows: [ProbeRow]) -> String {
        let w = max(4, rows.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        var out = "| \(pad("row", w)) | status      | detail |\n|\(String(repeating: "-", count: w + 2))|-------------|--------|\n"
        for r in rows {
            let detail = r.detail.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
            out += "| \(pad(r.name, w)) | \(pad(r.status.rawValue, 11)) | \(detail) |\n"
        }
        return out
    }
}
