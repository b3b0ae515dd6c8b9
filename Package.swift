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
        .target(name: "ChatEngine", dependencies: ["CSQLite"]),
        .systemLibrary(name: "CLinuxIO"),
        .target(name: "ChatServe", dependencies: ["ChatEngine", "CLinuxIO"]),
        .target(name: "ChatTUI", dependencies: ["ChatEngine", "CNcursesw"]),
        .executableTarget(name: "chatbench", dependencies: ["ChatEngine", "ChatTUI", "ChatServe"]),
        .testTarget(name: "ChatEngineTests", dependencies: ["ChatEngine"], exclude: ["FuzzCorpus"]),
        .testTarget(name: "ChatTUITests", dependencies: ["ChatTUI"], exclude: ["Snapshots"]),
        .testTarget(name: "ChatServeTests", dependencies: ["ChatServe"]),
        .testTarget(name: "chatbenchTests", dependencies: ["chatbench", "ChatEngine"], exclude: ["e2e"]),
    ]
)
