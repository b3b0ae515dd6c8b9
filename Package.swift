// swift-tools-version:6.0
// chatbench: a terminal workbench for seeing how an LLM conversation's memory is kept.
// No third-party packages: only the toolchain and two system C libraries (ncursesw, sqlite3).
import PackageDescription

let package = Package(
    name: "chatbench",
    products: [
        .executable(name: "chatbench", targets: ["chatbench"]),
        .library(name: "ChatEngine", targets: ["ChatEngine"]),
        .library(name: "ChatTUI", targets: ["ChatTUI"]),
        .library(name: "ChatServe", targets: ["ChatServe"]),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CNcursesw", pkgConfig: "ncursesw", providers: [.apt(["libncurses-dev"])]),
        // The price table (LiteLLM's format) ships beside the binary: Bundle.module finds it.
        .target(name: "ChatEngine", dependencies: ["CSQLite"], resources: [.copy("Pricing/model_prices.json")]),
        .systemLibrary(name: "CLinuxIO"),
        .target(name: "ChatServe", dependencies: ["ChatEngine", "CLinuxIO"]),
        .target(name: "ChatTUI", dependencies: ["ChatEngine", "CNcursesw"]),
        .executableTarget(name: "chatbench", dependencies: ["ChatEngine", "ChatTUI", "ChatServe"]),
        // Helpers the test targets share (the seeded generator of every fuzz test, a private redis-server).
        .target(name: "TestSupport", dependencies: ["ChatEngine"], path: "Tests/TestSupport"),
        .testTarget(name: "ChatEngineTests", dependencies: ["ChatEngine", "TestSupport"], exclude: ["FuzzCorpus"]),
        .testTarget(name: "ChatTUITests", dependencies: ["ChatTUI", "TestSupport"], exclude: ["Snapshots"]),
        .testTarget(name: "ChatServeTests", dependencies: ["ChatServe", "TestSupport"]),
        .testTarget(name: "chatbenchTests", dependencies: ["chatbench", "ChatEngine", "TestSupport"], exclude: ["e2e"]),
    ]
)
