import ChatEngine
import Foundation

/// The command table: every subcommand and flag chatbench has. Help text is generated from it.
enum Commands {
    static let table: [CommandSpec] = [
        CommandSpec(name: "", summary: "open the workbench", positionals: "", minPositionals: 0, maxPositionals: 0,
                    flags: [], details: "", run: { _ in
                        CLI.printError("chatbench: the workbench screen is not built yet; see 'chatbench --help'")
                        return 1
                    }),
        SendCommand.spec,
    ]
}
