import ChatEngine
import Foundation

/// `chatbench send`: one turn in a named session, from the shell.
enum SendCommand {
    static let spec = CommandSpec(
        name: "send", summary: "send one message in a session and print the reply",
        positionals: "MESSAGE...", minPositionals: 1, maxPositionals: Int.max,
        flags: [
            FlagSpec("--session", "NAME", "session to use (created on first use; default: the last one used)"),
            FlagSpec("--mode", "MODE", "chain | conversation | client | hybrid | layered (default: the session's, else chain)"),
            FlagSpec("--policy", "POLICY", "client memory policy: all | window:N | budget:TOKENS | summarize:N"),
            FlagSpec("--server-policy", "POLICY", "server modes: none | compact:N (compact past N tokens) | truncate:auto | compact:N+truncate:auto"),
            FlagSpec("--profile", "NAME", "whose long-term memory (facts, and other sessions as episodes) hybrid and layered use (default: default)"),
            FlagSpec("--session-db", "FILE", "an Agents SDK SQLite session file to read and append to (client mode)"),
            FlagSpec("--store", "URL", "client mode on a Redis session shared with the Agents SDK's RedisSession: redis://[:PASSWORD@]HOST:PORT/DB[?key_prefix=…&ttl=S] (default for new sessions: $CHATBENCH_REDIS_URL)"),
            FlagSpec("--attach", "ID", "start the session from server-side history: a conversation (conv_…) or the chain ending at resp_…"),
            FlagSpec("--backend", "NAME", "offline | openai | gateway (default: the session's, else openai with a key, else offline); gateway: chatbench keeps the Responses state, the Chat Completions server at --base-url answers"),
            FlagSpec("--base-url", "URL", "OpenAI-compatible server (default: $OPENAI_BASE_URL, else https://api.openai.com/v1)"),
            FlagSpec("--api", "API", "responses | chat (chat: Chat Completions, client mode only)"),
            FlagSpec("--model", "MODEL", "model for new sessions (default: $OPENAI_MODEL, else gpt-4.1-mini; offline: the offline model)"),
            FlagSpec("--json", nil, "print one JSON object with the reply and the turn's metrics"),
            FlagSpec("--no-stream", nil, "ask for the whole reply at once instead of streaming it"),
            FlagSpec("--raw", nil, "print the reply exactly as received (control characters are shown as \\x1b otherwise)"),
        ] + PricingFlags.flags,
        details: """
            The words of MESSAGE are joined with spaces; '-' reads the message from standard input.
            The session remembers its mode and backend; a flag overrides them (a mode change carries
            the history into the new mode's store).
            --json prints: reply, session, mode, backend, model, turn, status, chain_event, response_id,
            previous_response_id, conversation_id, request_bytes, items_sent, error_code,
            usage {input_tokens, cached_tokens, output_tokens}, latency_ms, in the server modes server_policy and
            server_event (compacted | truncated | null: what the server did to the context), in client mode
            policy {policy, kept, dropped, summarized, summary_request}, and the turn's estimated cost:
            cost_usd (all its requests, overhead included, at the price table's prices; null when the table
            has no price), price_model (the table entry used), prices_taken (the date of those prices), cost
            (the label). request_bytes, items_sent and usage describe the turn's own requests; a summary
            request (summarize:N) is overhead, with its own numbers under policy.summary_request and overhead.
            context: the turn's requests by source [{source, items, tokens, bytes}] (new, working, summary,
            semantic, episodic, carried, replayed, server: what the server held, envelope: the JSON around
            the items, setup: a request before the reply; bytes add up to request_bytes, items to items_sent,
            tokens to the estimate); overhead: the summarizer and
            memory-updater requests [{kind, request_bytes, items, input_tokens, cached_tokens, output_tokens,
            note}], billed apart from the turn (cost_usd includes them).
            With --json a failure prints an object too, with error {kind: usage | turn_failed | error,
            message, and from a server status, type, code, request_id}; a failed turn's object also has the
            fields above (status failed, the partial reply). The exit code is 1 (2 for a usage error).
            Hybrid mode chains like chain mode and sends the profile's long-term facts as instructions;
            a memory updater request (structured output) saves the facts you state to the profile.
            Layered mode assembles each request from working memory (the newest messages; --policy
            window:N, default 8), a rolling summary of older turns, the profile's facts and passages of your
            other sessions retrieved for the message (episodic memory), with store:false.
            """,
        run: { try await run($0) })

    static func run(_ inv: Invocation) async throws -> Int32 {
        var text = inv.positionals.joined(separator: " ")
        if text == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        let json = inv.has("--json")
        let out = StdoutWriter()
        // A script that asked for JSON gets JSON on every outcome: a failure is an object with "error"
        // on standard output (the message also goes to standard error, and the exit code is not 0).
        var report: ((TurnResult) -> [String: JSONValue])?
        do {
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ConfigurationError("the message is empty (see 'chatbench help send')")
            }
            // Read before the turn: a price table that cannot be used stops here, not after the reply.
            let pricing = try PricingFlags.load(inv)
            let (bench, session) = try await SessionFlags.openAndAttach(inv)
            let turnReport = { (r: TurnResult) in jsonReport(r, backend: bench.backend.info, pricing: pricing) }
            report = turnReport
            let runner = Runner(store: bench.store, backend: bench.backend, streaming: !inv.has("--no-stream"))
            // The reply comes from a server: escape sequences in it are shown, not obeyed (unless --raw).
            let raw = inv.has("--raw")
            let result = try await runner.send(text, in: session.name) { delta in
                if !json { out.write(raw ? delta : OutsideText.visible(delta)) }
            }
            if json {
                out.write(OutsideText.json(try WireJSON.encodeString(JSONValue.object(turnReport(result)))) + "\n")
            } else {
                out.write("\n")
            }
            try out.finish()
            return 0
        } catch where json {
            out.write(OutsideText.json(failureReport(error, session: inv.value("--session"), turnReport: report)) + "\n")
            try? out.finish()
            throw error
        }
    }

    /// The JSON object printed for a failure: `error` {message, kind, status, type, code, request_id};
    /// for a failed turn also the turn's whole report (its status, partial reply, metrics and cost).
    static func failureReport(_ error: Error, session: String?, turnReport: ((TurnResult) -> [String: JSONValue])?) -> String {
        var base: [String: JSONValue] = [:]
        var err: [String: JSONValue] = ["message": .string(Secrets.redact("\(error)")), "kind": .string("error")]
        switch error {
        case let e as ConfigurationError:
            err["message"] = .string(e.message)
            err["kind"] = .string("usage")
        case let f as TurnFailure:
            err["kind"] = .string("turn_failed")
            if let api = f.apiError {
                err["status"] = .int(Int64(api.status))
                err["type"] = .string(api.type)
                err["code"] = api.code.map { .string($0) } ?? .null
                err["request_id"] = api.requestID.map { .string($0) } ?? .null
            }
            if let turnReport {
                base = turnReport(TurnResult(turn: f.turn, session: f.session, reply: f.partialReply))
            }
        default:
            break
        }
        if base["session"] == nil { base["session"] = session.map { .string($0) } ?? .null }
        base["error"] = .object(err)
        return (try? WireJSON.encodeString(JSONValue.object(base))) ?? #"{"error":{"kind":"error","message":"unprintable error"}}"#
    }

    static func jsonReport(_ r: TurnResult, backend: BackendInfo, pricing: Pricing?) -> [String: JSONValue] {
        let t = r.turn
        // The whole turn is billed: its requests and its overhead (a summarizer, the memory updater).
        let o = t.overheadTotals
        let cost = pricing?.estimate(model: t.model, inputTokens: (t.inputTokens ?? 0).saturatingAdd(o.input),
                                     cachedTokens: (t.cachedTokens ?? 0).saturatingAdd(o.cached), outputTokens: (t.outputTokens ?? 0).saturatingAdd(o.output))
        // The reply's request and a summary request the turn made first, each with its own numbers.
        func usage(_ c: RequestCost) -> JSONValue {
            .object(["input_tokens": c.inputTokens.map { .int(Int64($0)) } ?? .null,
                     "cached_tokens": c.cachedTokens.map { .int(Int64($0)) } ?? .null,
                     "output_tokens": c.outputTokens.map { .int(Int64($0)) } ?? .null])
        }
        let reply = t.reply
        let obj: [String: JSONValue] = [
            "reply": .string(r.reply),
            "session": .string(r.session.name),
            "mode": .string(t.mode.rawValue),
            "backend": .string(backend.name),
            "model": .string(t.model),
            "turn": .int(Int64(t.number)),
            "status": .string(t.status.rawValue),
            "chain_event": t.chainEvent.map { .string($0.rawValue) } ?? .null,
            "response_id": t.responseID.map { .string($0) } ?? .null,
            "previous_response_id": t.previousResponseID.map { .string($0) } ?? .null,
            "conversation_id": t.conversationID.map { .string($0) } ?? .null,
            "request_bytes": .int(Int64(reply.requestBytes)),
            "items_sent": .int(Int64(reply.items)),
            "usage": usage(reply),
            "latency_ms": .double(((t.latencyMs ?? 0) * 1000).rounded() / 1000),
            "error_code": t.errorCode.map { .string($0) } ?? .null,
            "server_policy": t.mode.isServerManaged ? .string(r.session.serverPolicy) : .null,
            "context": .array((t.context ?? []).map { p in
                .object(["source": .string(p.source), "items": .int(Int64(p.items)), "tokens": .int(Int64(p.tokens)), "bytes": .int(Int64(p.bytes))])
            }),
            "overhead": .array(t.overhead.map { o in
                .object(["kind": .string(o.kind), "request_bytes": .int(Int64(o.request_bytes)), "items": .int(Int64(o.items)),
                         "input_tokens": o.input_tokens.map { .int(Int64($0)) } ?? .null, "cached_tokens": o.cached_tokens.map { .int(Int64($0)) } ?? .null,
                         "output_tokens": o.output_tokens.map { .int(Int64($0)) } ?? .null, "note": .string(o.note)])
            }),
            "server_event": t.serverEvent.map { .string($0.rawValue) } ?? .null,
            "cost_usd": cost?.dollars.map { .double($0) } ?? .null,
            "price_model": cost?.priceModel.map { .string($0) } ?? .null,
            "prices_taken": cost?.taken.map { .string($0) } ?? .null,
            "cost": cost.map { .string($0.label) } ?? .null,
            "policy": t.policyEffect.map { p in
                .object(["policy": .string(p.policy), "kept": .int(Int64(p.kept)), "dropped": .int(Int64(p.dropped)),
                         "summarized": .int(Int64(p.summarized)),
                         "summary_request": p.summary.map { x in
                             .object(["request_bytes": .int(Int64(x.requestBytes)), "items_sent": .int(Int64(x.items)), "usage": usage(x)])
                         } ?? .null])
            } ?? .null,
        ]
        return obj
    }
}
