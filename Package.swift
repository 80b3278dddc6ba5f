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
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev", "libssl-dev"]), .brew(["libssh2"])]
        ),
        .systemLibrary(name: "CGoliveSystem", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"]), .brew(["openssl"])]),
        // Process spawning, digests, time formatting, quoting and matching: what every layer shares.
        .target(name: "System", dependencies: ["CGoliveSystem"], swiftSettings: strict),
        .target(name: "SSH", dependencies: ["CLibSSH2", "System"], swiftSettings: strict),
        .target(name: "Playbook", dependencies: ["System", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        .target(name: "Engine", dependencies: ["Playbook", "System"], swiftSettings: strict),
        // The engine's transport over SSH (libssh2); a second transport sits beside it.
        .target(name: "SSHTransport", dependencies: ["Engine", "Playbook", "SSH", "System"], swiftSettings: strict),
        .executableTarget(
            name: "golive",
            dependencies: [
                "Engine", "Playbook", "SSHTransport", "Sandbox", "Store", "Console", "System",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(name: "Sandbox", dependencies: ["System"], swiftSettings: strict),
        .target(
            name: "Store",
            dependencies: [
                "Engine", "Playbook", "System", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(name: "Console", dependencies: ["Engine", "Playbook", "System"], swiftSettings: strict),
        .target(
            name: "GoliveTestSupport", dependencies: ["SSH", "SSHTransport", "Engine", "Playbook", "Sandbox", "System"],
            swiftSettings: strict),
        .testTarget(name: "SystemTests", dependencies: ["System"], swiftSettings: strict),
        .testTarget(name: "SSHTests", dependencies: ["SSH", "GoliveTestSupport", "System"], swiftSettings: strict),
        .testTarget(
            name: "PlaybookTests",
            dependencies: ["Playbook", "System"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: ["GoliveTestSupport", "Engine", "Playbook", "SSHTransport", "Sandbox", "Store", "System"],
            swiftSettings: strict),
        .testTarget(
            name: "StoreTests", dependencies: ["GoliveTestSupport", "Engine", "Store"], swiftSettings: strict),
        .testTarget(
            name: "GoliveCLITests",
            dependencies: ["GoliveTestSupport", "Playbook", "Sandbox", "System"],
            swiftSettings: strict
        ),
    ]
)
