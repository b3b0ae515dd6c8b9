import Foundation
import Testing
@testable import chatbench

/// `chatbench bench` keeps working (every figure runs, on tiny data) and --check judges targets. No
/// timing is asserted here: figures are measured by the command, on a quiet machine, in release.
@Suite struct BenchCommandTests {
    @Test func everyFigureRunsOnTinyData() async throws {
        let home = TempHome()
        let r = await offPool { try? ChatbenchProcess.run(["bench", "--quick", "--json"], home: home.path, extraEnv: ["CHATBENCH_BENCH_TINY": "1"]) }
        let result = try #require(r)
        #expect(result.status == 0, "\(result.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [String: Any]], "\(result.stdout)")
        for name in ["first_frame_ms", "rss_mb_10k", "idle_wakeups_60s", "open_ms_1m", "rss_mb_1m", "pageup_ms_1m", "home_ms_1m",
                     "open_ms_sdk_200k", "turn_ms_e2e_depth10", "turn_ms_e2e_depth10k", "render_ms_100k", "stream_frame_ms",
                     "stream_frame_ms_100kb", "offline_turn_ms_depth10k", "session_get50_ms", "browser_open_ms_10k_sessions",
                     "serve_rps", "sse_mb_per_s"] + (FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") ? ["serve_rps_redis"] : []) {
            let f = try #require(obj[name], "\(name) missing")
            #expect((f["median"] as? Double)?.isFinite == true, "\(name): \(f)")
        }
        #expect(obj["open_ms_1m"]?["target"] as? String == "≤ 100")
    }

    @Test func checkFailsOnlyOnAMissedTarget() {
        let pass = [BenchCommand.Figure(name: "a", unit: "ms", samples: [1, 2, 3], target: .atMost(5)),
                    BenchCommand.Figure(name: "b", unit: "ms", samples: [3], target: .timesAtMost(1.5, "a"))]
        #expect(BenchCommand.report(pass, json: true, check: true) == 0)
        let miss = pass + [BenchCommand.Figure(name: "c", unit: "ms", samples: [9], target: .both(.atMost(10), .timesAtMost(2, "a")))]
        #expect(BenchCommand.report(miss, json: true, check: true) == 1)
        #expect(BenchCommand.report(miss, json: true, check: false) == 0)
        // A comparison with a figure that did not run is not judged.
        #expect(BenchCommand.report([BenchCommand.Figure(name: "d", unit: "ms", samples: [9], target: .timesAtMost(1, "zzz"))], json: true, check: true) == 0)
    }
}
