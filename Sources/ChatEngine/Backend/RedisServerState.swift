import Foundation

/// The offline server's state in Redis (`serve --state redis://host:port/db`), so several `serve`
/// processes on one Redis serve the same chains and conversations. Keys, under the prefix
/// `chatbench:server:` (or the URL's `key_prefix`), with client ids always after a type tag so no
/// id can name another kind of key:
/// - `secret`: the 64-hex-digit secret that seals compaction items (set once, `SET NX`);
/// - `r:ID` a hash per response: prev, conv, stored, deleted, broken, depth, ctx (context tokens),
///   state (the model's memory snapshot), created, body, sd/ss (where its context starts), ps (the
///   prompt-cache hash state); `ri:ID` / `ro:ID` lists of its input / output items; `rn:ID` a set of
///   the responses chained after it (deletion breaks them all);
/// - `c:ID` a hash per conversation: created, meta, deleted, state, seq, ctx, start, ps, pseq;
///   `ci:ID` a sorted set of its item ids by sequence number; `cd:ID` a hash item id → JSON;
/// - `seq` the item sequence counter and `ids` the set of item ids (unique server-wide);
/// - `pc` a hash "cache key\nblock" → block count and `pcx` a sorted set of the same by expiry.
/// Every read-then-write is one Lua script (atomic in Redis), re-checking at write time what it
/// depends on, exactly as the SQLite transaction does: a response chained after one deleted meanwhile
/// is born broken, a conversation changed meanwhile gets its memory rebuilt, a deleted conversation
/// refuses the append. A chained turn reads one hash and one list, never the chain.
/// Redis that cannot be reached (or is loading) is a 503 `state_unavailable` for the request; for a
/// second after such a failure requests get the same 503 at once (so a stalled Redis costs each
/// queued request nothing, not one timeout each), then the client reconnects.
final class RedisServerState: ServerState, @unchecked Sendable {
    let client: RedisClient
    let prefix: String
    private let lock = NSLock()
    private var shas: [Int: String] = [:]

    /// `gateway`: the default prefix is `chatbench:gateway:` (as its SQLite state is another file: an
    /// offline server's chain must not continue on a gateway, or the reverse).
    init(url: RedisURL, gateway: Bool = false) {
        client = RedisClient(url: url)
        prefix = (url.keyPrefix == "agents:session" ? (gateway ? "chatbench:gateway" : "chatbench:server") : url.keyPrefix) + ":"
    }

    // MARK: Plumbing

    /// Redis's failures as the Responses errors a client can act on.
    /// The client hears only that the state store failed; what failed (host, port, AUTH, scripts) goes
    /// to the operator's log (`serve` prints it on standard error).
    static func apiError(_ e: RedisError) -> APIError {
        StateStoreLog.sink?("state store: \(e)")
        let transient = ["LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "READONLY"]
        if e.kind == .server && !transient.contains(e.code ?? "") {
            return APIError(status: 500, type: "server_error", code: "state_error", message: "The server's state store failed.")
        }
        return APIError(status: 503, type: "server_error", code: "state_unavailable", message: "The server's state store is unavailable. Try again later.")
    }


    /// After Redis failed to answer (down, or too slow), requests fail at once until this time instead
    /// of each waiting out the timeout in turn behind the one before.
    private var downUntil: Double = 0
    private var lastFailure: RedisError?
    static let cooldown: Double = 1

    private func guarded<T>(_ body: () throws -> T) throws -> T {
        let now = Date().timeIntervalSince1970
        if let last = lock.withLock({ now < downUntil ? lastFailure : nil }) { throw Self.apiError(last) }
        do { return try body() } catch let e as RedisError {
            if e.kind == .connection || e.kind == .timeout {
                lock.withLock { downUntil = Date().timeIntervalSince1970 + min(Self.cooldown, client.url.timeout); lastFailure = e }
            }
            throw Self.apiError(e)
        }
    }

    private func bad(_ what: String) -> RedisError { RedisError(.protocol, "unexpected reply to \(what)", endpoint: client.url.endpoint) }

    /// Runs a script by its SHA, loading it first (and again after Redis restarted and forgot it).
    private func eval(_ script: Script, _ args: [String]) throws -> RESPValue {
        try guarded {
            for _ in 0..<2 {
                let sha = try lock.withLock({ shas[script.rawValue] }) ?? load(script)
                let reply = try client.pipeline([["EVALSHA", sha, "0", prefix] + args])[0]
                if case .error(let e) = reply {
                    if e.hasPrefix("NOSCRIPT") { lock.withLock { _ = shas.removeValue(forKey: script.rawValue) }; continue }
                    throw RedisError.reply(e, endpoint: client.url.endpoint)
                }
                return reply
            }
            throw bad("EVALSHA (the script is not loaded)")
        }
    }

    private func load(_ script: Script) throws -> String {
        guard let sha = try client.call("SCRIPT", "LOAD", script.source).string, sha.count == 40 else { throw bad("SCRIPT LOAD") }
        lock.withLock { shas[script.rawValue] = sha }
        return sha
    }

    private func call(_ args: String...) throws -> RESPValue { try guarded { try client.call(args) } }

    private static func text(_ v: RESPValue?) -> String? { v?.string }
    private static func int(_ v: RESPValue?) -> Int? { v?.int.flatMap { Int(exactly: $0) } }

    /// Items stored by the server for a conversation append: each with its id, and a fresh id to use
    /// when that one is taken (item ids are unique server-wide).
    private static func conversationArgs(_ items: [Item]) -> [String] {
        items.flatMap { item -> [String] in
            let stored = item.normalisedForStorage(id: IDs.make(item.message != nil ? "msg" : "item"))
            let alt = OfflineBackend.withID(stored, IDs.make(item.message != nil ? "msg" : "item"))
            return [stored.id ?? "", stored.jsonString(), alt.id ?? "", alt.jsonString()]
        }
    }

    // MARK: ServerState

    var secretIsShared: Bool { true }

    func secret(preferring: [UInt8]?) throws -> [UInt8] {
        let r = try guarded { try client.pipeline([["SET", prefix + "secret", (preferring ?? Sealer.newSecret()).hex, "NX"], ["GET", prefix + "secret"]]) }
        if case .error(let e) = r[0] { throw Self.apiError(RedisError.reply(e, endpoint: client.url.endpoint)) }
        guard let hex = r[1].string, hex.count == 64 else {
            throw StorageError(.corrupt, path: client.url.redacted, "the server's secret (\(prefix)secret, which seals compaction items) is missing or damaged")
        }
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            guard let b = UInt8(hex[i..<j], radix: 16) else {
                throw StorageError(.corrupt, path: client.url.redacted, "the server's secret (\(prefix)secret) is not hexadecimal")
            }
            bytes.append(b)
            i = j
        }
        return bytes
    }

    func atomically<T>(_ body: () throws -> T) throws -> T { try body() }

    func responseRow(_ id: String) throws -> ResponseRow? {
        let h = try call("HMGET", prefix + "r:" + id, "stored", "deleted", "broken", "depth", "ctx", "state", "sd", "ss", "ps").array ?? []
        guard h.count == 9, let depth = Self.int(h[3]) else { return nil }
        return ResponseRow(stored: Self.text(h[0]) == "1", deleted: Self.text(h[1]) != "0", brokenBy: Self.text(h[2]), depth: depth,
                           contextTokens: Self.int(h[4]) ?? 0, modelState: Self.text(h[5]), startDepth: Self.int(h[6]) ?? 1,
                           startSkip: Self.int(h[7]) ?? 0, promptState: Self.text(h[8]))
    }

    func storedBody(_ id: String) throws -> String? {
        let h = try call("HMGET", prefix + "r:" + id, "stored", "deleted", "body").array ?? []
        guard h.count == 3, Self.text(h[0]) == "1", Self.text(h[1]) == "0" else { return nil }
        return Self.text(h[2]) ?? "{}"
    }

    func items(of id: String, output: Bool) throws -> [Item] {
        (try call("LRANGE", prefix + (output ? "ro:" : "ri:") + id, "0", "-1").array ?? []).compactMap { $0.string.flatMap(Item.parse) }
    }

    func commit(_ p: OfflineBackend.Prepared, keep: Bool) throws {
        let r = p.response
        var args = [keep ? "1" : "0", r.id, r.previous_response_id ?? "", r.conversation?.id ?? "", r.store == false ? "0" : "1",
                    String(p.depth), String(p.contextTokens), p.snapshot, String(r.created_at), try WireJSON.encodeString(r),
                    String(p.startDepth), String(p.startSkip), p.prompt.encoded(), String(p.input.count), String(p.output.count)]
        args += (p.input + p.output).map { $0.jsonString() }
        if r.conversation != nil {
            let start = p.conversationStart.map { $0 == OfflineBackend.Plan.fromThisInput ? "this" : String($0) } ?? ""
            args += [p.conversationStateSeq.map(String.init) ?? "", start, p.compacted ? "1" : "0", String(p.input.count + p.output.count)]
            args += Self.conversationArgs(p.input + p.output)
        }
        let reply = try eval(.commit, args)
        if reply.string == "noconv", let conv = r.conversation?.id {
            throw APIError.notFound("Conversation with id '\(APIError.clip(conv))' not found.", param: "conversation")
        }
        guard reply.string == "ok" else { throw Self.apiError(bad("the commit script")) }
    }

    func deleteResponse(_ id: String) throws -> Bool {
        try eval(.deleteResponse, [id]).int == 1
    }

    func chainRows(endingAt last: String, startDepth: Int) throws -> [ChainRow] {
        let entries = try eval(.chain, [last, String(startDepth)]).array ?? []
        var rows: [ChainRow] = []
        for entry in entries.reversed() {
            guard let e = entry.array, e.count == 4, let depth = Self.int(e[1]) else { continue }
            let conv = Self.text(e[0]).flatMap { $0.isEmpty ? nil : $0 }
            for (output, list) in [(false, e[2]), (true, e[3])] {
                for v in list.array ?? [] {
                    if let data = v.string { rows.append(ChainRow(conversation: conv, depth: depth, output: output, data: data)) }
                }
            }
        }
        return rows
    }

    func createConversation(id: String, created: Int, metadata: String, items: [Item]) throws {
        _ = try eval(.createConversation, [id, String(created), metadata, String(items.count)] + Self.conversationArgs(items))
    }

    func conversation(_ id: String) throws -> ConversationRecord? {
        let h = try call("HMGET", prefix + "c:" + id, "deleted", "created", "meta").array ?? []
        guard h.count == 3, Self.text(h[0]) == "0" else { return nil }
        return ConversationRecord(id: id, createdAt: Self.int(h[1]) ?? 0, metadata: Self.text(h[2]) ?? "{}")
    }

    func conversationContext(_ id: String) throws -> ConversationContext? {
        let h = try call("HMGET", prefix + "c:" + id, "deleted", "state", "seq", "ctx", "start", "ps", "pseq").array ?? []
        guard h.count == 7, Self.text(h[0]) == "0" else { return nil }
        return ConversationContext(snapshot: Self.text(h[1]), tokens: Self.int(h[3]) ?? 0, seq: Self.int(h[2]) ?? 0, start: Self.int(h[4]) ?? 0,
                                   prompt: PromptHasher.decoded(Self.text(h[5])), promptSeq: Self.int(h[6]) ?? 0)
    }

    func saveRebuiltState(_ id: String, snapshot: String, seq: Int, tokens: Int) throws {
        _ = try eval(.saveRebuilt, [id, snapshot, String(seq), String(tokens)])
    }

    func lastItemSeq(_ id: String) throws -> Int {
        let r = try call("ZRANGE", prefix + "ci:" + id, "-1", "-1", "WITHSCORES").array ?? []
        return r.count == 2 ? Self.int(r[1]) ?? 0 : 0
    }

    private func placed(_ reply: RESPValue) -> [(seq: Int, data: String)] {
        let flat = reply.array ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).compactMap { i in
            guard let seq = Self.int(flat[i]), let data = flat[i + 1].string else { return nil }
            return (seq: seq, data: data)
        }
    }

    func conversationItems(_ id: String, from first: Int) throws -> [(seq: Int, data: String)] {
        placed(try eval(.items, [id, "from", String(first)]))
    }

    func conversationItems(_ id: String, through itemID: String) throws -> [Item] {
        placed(try eval(.items, [id, "through", itemID])).compactMap { Item.parse($0.data) }
    }

    func addItems(_ id: String, _ items: [Item], after state: ConversationContext,
                  update: ([Item]) -> (snapshot: String, tokens: Int)) throws -> [Item] {
        let reply = try eval(.addItems, [id, String(state.seq), String(items.count)] + Self.conversationArgs(items))
        if reply.string == "noconv" { throw APIError.notFound("Conversation with id '\(APIError.clip(id))' not found.", param: "conversation_id") }
        guard let r = reply.array, r.count >= 2, let ok = Self.int(r[0]), let last = Self.int(r[1]) else { throw Self.apiError(bad("the append script")) }
        let added = r.dropFirst(2).compactMap { $0.string.flatMap(Item.parse) }
        if ok == 1 {
            let (snapshot, tokens) = update(added)
            _ = try eval(.saveAdded, [id, String(last), snapshot, String(tokens)])
        }
        return added
    }

    func updateMetadata(_ id: String, _ metadata: String) throws {
        _ = try eval(.updateMetadata, [id, metadata])
    }

    func deleteConversation(_ id: String) throws -> Bool {
        try eval(.deleteConversation, [id]).int == 1
    }

    func itemSeq(_ id: String, itemID: String) throws -> Int64? {
        let s = try call("ZSCORE", prefix + "ci:" + id, itemID)
        return s.string.flatMap { Double($0) }.flatMap { Int64(exactly: $0) }
    }

    func listItems(_ id: String, bound: Int64, ascending: Bool, limit: Int) throws -> [String] {
        let b = bound == Int64.min || bound == Int64.max ? "" : String(bound)
        return (try eval(.list, [id, b, ascending ? "1" : "0", String(limit)]).array ?? []).compactMap(\.string)
    }

    func conversationItem(_ id: String, itemID: String) throws -> String? {
        try call("HGET", prefix + "cd:" + id, itemID).string
    }

    func deleteConversationItem(_ id: String, itemID: String) throws -> Bool {
        try eval(.deleteItem, [id, itemID]).int == 1
    }

    func cacheLookupAndTouch(key: String, candidates: [(Int, String)], now: Double, expires: Double) throws -> Int {
        var best = 0
        // In slices, so one script never holds Redis long.
        for chunk in stride(from: 0, to: max(candidates.count, 1), by: 400) {
            let part = candidates[chunk..<min(candidates.count, chunk + 400)]
            let args = [key, String(now), String(expires)] + part.flatMap { [String($0.0), $0.1] }
            best = max(best, Self.int(try eval(.cache, args)) ?? 0)
        }
        return best
    }

    // MARK: Scripts (ARGV[1] is always the key prefix)

    enum Script: Int, CaseIterable {
        case commit, deleteResponse, chain, createConversation, saveRebuilt, items, addItems, saveAdded, updateMetadata,
             deleteConversation, list, deleteItem, cache

        /// Appends items (id, json, fresh id, fresh json) from ARGV[i] on; returns the last sequence number.
        static let append = """
            local function append(P, conv, n, i)
              local last = 0
              for k = 1, n do
                local iid, data = ARGV[i], ARGV[i + 1]
                if redis.call('SISMEMBER', P .. 'ids', iid) == 1 then iid, data = ARGV[i + 2], ARGV[i + 3] end
                i = i + 4
                last = redis.call('INCR', P .. 'seq')
                redis.call('ZADD', P .. 'ci:' .. conv, last, iid)
                redis.call('HSET', P .. 'cd:' .. conv, iid, data)
                redis.call('SADD', P .. 'ids', iid)
              end
              return last
            end
            local function maxseq(P, conv)
              local r = redis.call('ZRANGE', P .. 'ci:' .. conv, -1, -1, 'WITHSCORES')
              if #r == 2 then return tonumber(r[2]) end
              return 0
            end

            """

        var source: String {
            switch self {
            case .commit: return Self.append + """
                local P, keep, id, prev, conv = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
                local nIn, nOut = tonumber(ARGV[15]), tonumber(ARGV[16])
                local c = P .. 'c:' .. conv
                if conv ~= '' and redis.call('HGET', c, 'deleted') ~= '0' then return 'noconv' end
                if keep == '1' then
                  local r = P .. 'r:' .. id
                  redis.call('HSET', r, 'prev', prev, 'conv', conv, 'stored', ARGV[6], 'deleted', '0', 'depth', ARGV[7], 'ctx', ARGV[8],
                    'state', ARGV[9], 'created', ARGV[10], 'body', ARGV[11], 'sd', ARGV[12], 'ss', ARGV[13], 'ps', ARGV[14])
                  if prev ~= '' then
                    -- deleted while this one was made: born broken
                    local pr = redis.call('HMGET', P .. 'r:' .. prev, 'deleted', 'broken')
                    local broken = pr[2]
                    if pr[1] == '1' then broken = prev end
                    if broken then redis.call('HSET', r, 'broken', broken, 'state', '') end
                    redis.call('SADD', P .. 'rn:' .. prev, id)
                  end
                  for k = 1, nIn do redis.call('RPUSH', P .. 'ri:' .. id, ARGV[16 + k]) end
                  for k = 1, nOut do redis.call('RPUSH', P .. 'ro:' .. id, ARGV[16 + nIn + k]) end
                end
                if conv ~= '' then
                  local i = 17 + nIn + nOut
                  local expect, cstart, compacted, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
                  local last = append(P, conv, n, i + 4)
                  local lastInput = last - nOut
                  local start = nil
                  if cstart == 'this' then start = lastInput - nIn + 1 elseif cstart ~= '' then start = cstart end
                  if compacted == '1' then start = lastInput + 1 end
                  if redis.call('HGET', c, 'seq') == expect then
                    redis.call('HSET', c, 'state', ARGV[9], 'seq', last, 'ctx', ARGV[8], 'ps', ARGV[14], 'pseq', lastInput)
                  else
                    -- changed meanwhile: its memory is rebuilt on next use, and no turn planned from
                    -- the memory before can match the seq and write it back
                    redis.call('HDEL', c, 'state', 'ps')
                    redis.call('HSET', c, 'seq', -1)
                  end
                  if start then redis.call('HSET', c, 'start', start) end
                end
                return 'ok'
                """
            case .deleteResponse: return """
                local P, id = ARGV[1], ARGV[2]
                local r = P .. 'r:' .. id
                local h = redis.call('HMGET', r, 'stored', 'deleted')
                if h[1] ~= '1' or h[2] ~= '0' then return 0 end
                redis.call('HSET', r, 'deleted', '1', 'body', '{}', 'state', '')
                redis.call('DEL', P .. 'ri:' .. id, P .. 'ro:' .. id)
                local queue, seen, k = {id}, {[id] = true}, 1
                while k <= #queue do
                  for _, kid in ipairs(redis.call('SMEMBERS', P .. 'rn:' .. queue[k])) do
                    if not seen[kid] then
                      seen[kid] = true
                      if redis.call('EXISTS', P .. 'r:' .. kid) == 1 then
                        redis.call('HSETNX', P .. 'r:' .. kid, 'broken', id)
                        redis.call('HSET', P .. 'r:' .. kid, 'state', '')
                      end
                      queue[#queue + 1] = kid
                    end
                  end
                  k = k + 1
                end
                return 1
                """
            case .chain: return """
                local P, id, startDepth = ARGV[1], ARGV[2], tonumber(ARGV[3])
                local out, above = {}, math.huge
                while id and id ~= '' do
                  local h = redis.call('HMGET', P .. 'r:' .. id, 'prev', 'conv', 'depth')
                  local d = tonumber(h[3])
                  if not d or d >= above then break end
                  above = d
                  out[#out + 1] = {h[2] or '', h[3], redis.call('LRANGE', P .. 'ri:' .. id, 0, -1), redis.call('LRANGE', P .. 'ro:' .. id, 0, -1)}
                  if d <= startDepth then break end
                  id = h[1]
                end
                return out
                """
            case .createConversation: return Self.append + """
                local P, id = ARGV[1], ARGV[2]
                redis.call('HSET', P .. 'c:' .. id, 'created', ARGV[3], 'meta', ARGV[4], 'deleted', '0', 'seq', 0, 'ctx', 0, 'start', 0, 'pseq', 0)
                return append(P, id, tonumber(ARGV[5]), 6)
                """
            case .saveRebuilt: return Self.append + """
                local P, id = ARGV[1], ARGV[2]
                local c = P .. 'c:' .. id
                if redis.call('HGET', c, 'deleted') ~= '0' or redis.call('HEXISTS', c, 'state') == 1 then return 0 end
                if maxseq(P, id) ~= tonumber(ARGV[4]) then return 0 end
                redis.call('HSET', c, 'state', ARGV[3], 'seq', ARGV[4], 'ctx', ARGV[5])
                redis.call('HDEL', c, 'ps')
                return 1
                """
            case .items: return """
                local P, id, mode, arg = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
                local ci, cd = P .. 'ci:' .. id, P .. 'cd:' .. id
                local ids
                if mode == 'from' then
                  ids = redis.call('ZRANGEBYSCORE', ci, arg, '+inf', 'WITHSCORES')
                else
                  local s = redis.call('ZSCORE', ci, arg)
                  if not s then return {} end
                  ids = redis.call('ZRANGEBYSCORE', ci, '-inf', s, 'WITHSCORES')
                end
                local out = {}
                for k = 1, #ids, 2 do
                  local data = redis.call('HGET', cd, ids[k])
                  if data then out[#out + 1] = ids[k + 1]; out[#out + 1] = data end
                end
                return out
                """
            case .addItems: return Self.append + """
                local P, id, expect = ARGV[1], ARGV[2], ARGV[3]
                local c = P .. 'c:' .. id
                if redis.call('HGET', c, 'deleted') ~= '0' then return 'noconv' end
                -- the memory read before is still the conversation's: the caller may extend it
                local ok = 0
                if redis.call('HGET', c, 'seq') == expect and redis.call('HEXISTS', c, 'state') == 1 and maxseq(P, id) == tonumber(expect) then ok = 1 end
                local first = redis.call('GET', P .. 'seq')
                local last = append(P, id, tonumber(ARGV[4]), 5)
                -- until the caller saves the extended memory, it is rebuilt by whoever needs it
                redis.call('HDEL', c, 'state')
                redis.call('HSET', c, 'seq', -1)
                local out = {ok, last}
                for _, iid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'ci:' .. id, '(' .. (first or 0), '+inf')) do
                  out[#out + 1] = redis.call('HGET', P .. 'cd:' .. id, iid)
                end
                return out
                """
            case .saveAdded: return Self.append + """
                local P, id = ARGV[1], ARGV[2]
                local c = P .. 'c:' .. id
                if redis.call('HGET', c, 'seq') ~= '-1' or redis.call('HEXISTS', c, 'state') == 1 then return 0 end
                if maxseq(P, id) ~= tonumber(ARGV[3]) then return 0 end
                redis.call('HSET', c, 'state', ARGV[4], 'seq', ARGV[3], 'ctx', ARGV[5])
                return 1
                """
            case .updateMetadata: return """
                local c = ARGV[1] .. 'c:' .. ARGV[2]
                if redis.call('HGET', c, 'deleted') ~= '0' then return 0 end
                redis.call('HSET', c, 'meta', ARGV[3])
                return 1
                """
            case .deleteConversation: return """
                local c = ARGV[1] .. 'c:' .. ARGV[2]
                if redis.call('HGET', c, 'deleted') ~= '0' then return 0 end
                redis.call('HSET', c, 'deleted', '1')
                return 1
                """
            case .list: return """
                local P, id, bound, asc, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
                local ci = P .. 'ci:' .. id
                local ids
                if asc == '1' then
                  ids = redis.call('ZRANGEBYSCORE', ci, bound == '' and '-inf' or '(' .. bound, '+inf', 'LIMIT', 0, limit)
                else
                  ids = redis.call('ZREVRANGEBYSCORE', ci, bound == '' and '+inf' or '(' .. bound, '-inf', 'LIMIT', 0, limit)
                end
                local out = {}
                for _, iid in ipairs(ids) do
                  local data = redis.call('HGET', P .. 'cd:' .. id, iid)
                  if data then out[#out + 1] = data end
                end
                return out
                """
            case .deleteItem: return """
                local P, id, iid = ARGV[1], ARGV[2], ARGV[3]
                if redis.call('ZREM', P .. 'ci:' .. id, iid) == 0 then return 0 end
                redis.call('HDEL', P .. 'cd:' .. id, iid)
                redis.call('SREM', P .. 'ids', iid)
                redis.call('HDEL', P .. 'c:' .. id, 'state', 'ps')
                redis.call('HSET', P .. 'c:' .. id, 'seq', -1)
                return 1
                """
            case .cache: return """
                local P, key, now, expires = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
                local h, z = P .. 'pc', P .. 'pcx'
                local best = 0
                for k = 5, #ARGV - 1, 2 do
                  local m = key .. '\\n' .. ARGV[k + 1]
                  local e = redis.call('ZSCORE', z, m)
                  if e and tonumber(e) >= now then
                    local b = tonumber(redis.call('HGET', h, m))
                    if b and b > best then best = b end
                  end
                end
                for _, m in ipairs(redis.call('ZRANGEBYSCORE', z, '-inf', '(' .. ARGV[3], 'LIMIT', 0, 1000)) do
                  redis.call('HDEL', h, m)
                  redis.call('ZREM', z, m)
                end
                for k = 5, #ARGV - 1, 2 do
                  local m = key .. '\\n' .. ARGV[k + 1]
                  local e = redis.call('ZSCORE', z, m)
                  if not e or tonumber(e) < expires then redis.call('ZADD', z, ARGV[4], m) end
                  redis.call('HSET', h, m, ARGV[k])
                end
                return best
                """
            }
        }
    }
}

/// Where a shared state store's failures are told in full, for the operator (`serve` prints them on
/// standard error); clients hear only that the store failed.
public enum StateStoreLog {
    nonisolated(unsafe) public static var sink: (@Sendable (String) -> Void)?
}
