import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport
@testable import ChatEngine

/// `serve --state redis://…`, for real, by e2e/serve_redis_e2e.py (each scenario starts its own
/// redis-server): two serve processes on one Redis continue each other's chains (20 clients x 20 turns,
/// alternating servers), keep concurrent conversation writers' turns, honour deletion and store:false
/// across processes, and one killed with -9 mid-load leaves the other serving every chain; with Redis
/// down a request gets a prompt 503, and the chain is served again once Redis is back.
@Suite struct ServeRedisTests {
    func run(_ args: [String]) async -> (Int32, String)? {
        guard let redis = RedisServer.binary else {
            print("ServeRedisTests: skipped: redis-server is not installed (apt-get install redis-server; .ci/setup does it)")
            return nil
        }
        return await runE2E("serve_redis_e2e.py", [ChatbenchProcess.binary, redis] + args)
    }

    @Test func twoServeProcessesOnOneRedisShareEveryChainAndSurviveAKill() async {
        guard let (status, output) = await run(["share", "20", "20"]) else { return }
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok share"), "\(output)")
    }

    @Test func redisDownIsA503AndServingResumesWhenItIsBack() async {
        guard let (status, output) = await run(["down"]) else { return }
        #expect(status == 0, "\(output)")
        #expect(output.contains("ok down"), "\(output)")
    }

    @Test func theStateURLIsCheckedAndPrintedWithoutItsPassword() async throws {
        guard let redis = try RedisServer.start(password: "s3cret-pass") else { return }
        defer { redis.stop() }
        let home = TempHome()
        let serve = try ServeProcess(["--no-auth", "--state", "redis://:s3cret-pass@127.0.0.1:\(redis.port)/0"], home: home)
        defer { serve.stop() }
        #expect(serve.banner.contains("state in redis://127.0.0.1:\(redis.port)/0"), "\(serve.banner)")
        #expect(!serve.banner.contains("s3cret-pass") && !serve.stderr.contains("s3cret-pass"))
        // The password from CHATBENCH_REDIS_PASSWORD works too; a wrong one refuses to start, clearly.
        let fromEnv = try ServeProcess(["--no-auth", "--state", "redis://127.0.0.1:\(redis.port)/0"], home: home.path,
                                       env: ["CHATBENCH_REDIS_PASSWORD": "s3cret-pass"])
        defer { fromEnv.stop() }
        #expect(fromEnv.banner.contains("state in redis://"))
        #expect(throws: (any Error).self) {
            _ = try ServeProcess(["--no-auth", "--state", "redis://:wrong@127.0.0.1:\(redis.port)/0"], home: home)
        }
        #expect(throws: (any Error).self) { _ = try ServeProcess(["--no-auth", "--state", "/tmp/some.sqlite"], home: home) }
    }

    /// The gateway on Redis: two `serve --upstream … --state redis://…` processes, a chain alternating
    /// between them, and each upstream request carries the whole rebuilt context.
    @Test func twoGatewaysOnOneRedisContinueEachOthersChains() async throws {
        guard let redis = try RedisServer.start() else { return }
        defer { redis.stop() }
        let home = TempHome()
        let upstream = try FakeServer()
        let args = ["--upstream", upstream.baseURL, "--state", redis.url]
        let gateways = [try ServeProcess(args, home: home.path), try ServeProcess(args, home: home.path)]
        defer { gateways.forEach { $0.stop() } }
        #expect(gateways[0].banner.contains("gateway") && gateways[0].banner.contains("state in redis://"))
        let clients = gateways.map { g -> OpenAIBackend in
            var config = HTTPConfig(baseURL: URL(string: g.baseURL)!, apiKey: nil)
            config.maxRetries = 0
            return OpenAIBackend(config: config, defaultModel: "llama3")
        }
        var previous: String?
        var last = ""
        for i in 1...6 {
            let r = try await clients[i % 2].createResponse(CreateResponseRequest(model: "llama3", input: .items([.userText("fact \(i)")]), previousResponseID: previous))
            #expect(r.previous_response_id == previous)
            previous = r.id
            last = r.outputText
        }
        #expect(last == "context 11 items; user said: " + (1...6).map { "fact \($0)" }.joined(separator: " | "))
    }
}
