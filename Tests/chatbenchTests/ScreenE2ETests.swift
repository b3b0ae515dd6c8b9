import Foundation
import Testing

/// Runs the tmux end-to-end flows (Tests/chatbenchTests/e2e/screen_e2e.py) against the built binary.
/// tmux is started with system(): Foundation.Process hangs when its child starts a tmux server.
@Suite struct ScreenE2ETests {
    @Test func theRealBinaryInTmux() async throws {
        let (status, output) = await runE2E("screen_e2e.py", [ChatbenchProcess.binary])
        #expect(status == 0, "end-to-end flows failed:\n\(output)")
        #expect(output.contains("ok recall_chain_toggle_cancel_resize_quit"))
        #expect(output.contains("ok paste_never_sends_and_signals_restore"))
        #expect(output.contains("ok pasted_tabs_are_kept"))
        #expect(output.contains("ok dumb_terminal_is_refused"))
        #expect(output.contains("ok growing_then_quitting_leaves_the_shell_clean"))
        #expect(output.contains("ok compare_view_two_messages"))
        #expect(output.contains("ok compare_turn_cancels_with_escape"))
        #expect(output.contains("ok browse_search_open_fork_export"))
        #expect(output.contains("ok ctrl_f_forks_at_an_early_message"))
        #expect(output.contains("ok resize_storm_unknown_keys_and_a_crash_while_drawing"))
        #expect(output.contains("ok escape_then_a_function_key_keeps_the_key"))
    }
}
