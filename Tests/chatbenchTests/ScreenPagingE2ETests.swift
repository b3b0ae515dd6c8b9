import Foundation
import Testing

/// The real binary in tmux (e2e/screen_paging_e2e.py): the screen at rest runs no loop iterations, a long
/// session pages with Home/End/PgUp/PgDn, and an Agents SDK session shows its history and what an agent
/// appends while it is open.
@Suite struct ScreenPagingE2ETests {
    @Test func restPagingAndAnAgentsHistory() async throws {
        let (status, output) = await runE2E("screen_paging_e2e.py", [ChatbenchProcess.binary])
        #expect(status == 0, "\(output)")
        for flow in ["idle_screen_does_not_wake", "long_session_pages", "sdk_session_history_shows_and_updates",
                     "a_session_opened_later_is_watched_too"] {
            #expect(output.contains("ok \(flow)"), "\(flow): \(output)")
        }
    }
}
