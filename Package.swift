// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "golive",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "golive", targets: ["golive"])
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev", "libssl-dev"]), .brew(["libssh2"])]
        ),
        .target(name: "SSH", dependencies: ["CLibSSH2"], swiftSettings: strict),
        .target(name: "Playbook", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: strict),
        .target(name: "Engine", dependencies: ["Playbook", "SSH"], swiftSettings: strict),
        .executableTarget(
            name: "golive",
            dependencies: [
                "Engine", "Playbook", "SSH", "Sandbox", "Store", "Console",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(name: "Sandbox", swiftSettings: strict),
        .target(
            name: "Store", dependencies: ["Engine", "Playbook", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
        .target(name: "Console", dependencies: ["Engine", "Playbook", "Store"], swiftSettings: strict),
        .target(name: "GoliveTestSupport", dependencies: ["SSH", "Engine", "Playbook", "Sandbox", "Store"], swiftSettings: strict),
        .testTarget(name: "SSHTests", dependencies: ["SSH", "GoliveTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "PlaybookTests",
            dependencies: ["Playbook", "Engine", "Sandbox"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EngineTests", dependencies: ["GoliveTestSupport", "Engine", "Playbook", "Store"], swiftSettings: strict),
        .testTarget(
            name: "GoliveCLITests",
            dependencies: ["GoliveTestSupport", "Engine", "Playbook"],
            swiftSettings: strict
        ),
    ]
)
