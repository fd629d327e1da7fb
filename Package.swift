// swift-tools-version: 6.2
import Foundation
import PackageDescription

/// `METAL_AGENT_PORTABLE=1 swift build --build-path .build-portable` builds the portable configuration:
/// on Linux it selects the implementations macOS uses that are made of portable POSIX parts (the
/// lifeline-only runtime guard, no child subreaper or orphan sweep, the polling config watcher), so the
/// logic the Mac depends on is built and tested on every CI run (`scripts/test` runs both).
let portable = ProcessInfo.processInfo.environment["METAL_AGENT_PORTABLE"] == "1"

let strict: [SwiftSetting] =
    [
        .swiftLanguageMode(.v6),
        .enableUpcomingFeature("ExistentialAny"),
    ] + (portable ? [.define("PORTABLE_POSIX")] : [])
let portableC: [CSetting] = portable ? [.define("METAL_AGENT_PORTABLE")] : []

let package = Package(
    name: "metal-agent",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "metal-agent", targets: ["metal-agent"]),
        .executable(name: "metal-agent-guard", targets: ["metal-agent-guard"]),
        .library(name: "ConfigModel", targets: ["ConfigModel"]),
        .library(name: "Executors", targets: ["Executors"]),
        .library(name: "Supervisor", targets: ["Supervisor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // The operator endpoint (--listen): HTTP server and Prometheus text; no default traits (swift-configuration).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // The one and only libyaml binding: a system-library target found by pkg-config.
        .systemLibrary(
            name: "CYaml",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]
        ),
        // prctl and pidfd calls Swift cannot import (Linux).
        .target(name: "CProcessControl", cSettings: portableC),
        // The git commit of a release build (`scripts/build-release` defines it), for `--version`.
        .target(name: "CBuildInfo"),
        // The runtime guard: a small C program installed beside metal-agent (Linux), one per runtime.
        .executableTarget(
            name: "metal-agent-guard", dependencies: ["CProcessControl"], cSettings: portableC,
            // swiftc links every executable against the Swift runtime; the guard, plain C, uses none of
            // it, and loading libswiftCore (relocations: ~200 KiB private per process) is most of its cost.
            linkerSettings: [.unsafeFlags(["-nostartfiles", "-static-executable"], .when(platforms: [.linux]))]),
        .target(name: "ConfigModel", dependencies: ["CYaml"], swiftSettings: strict),
        .target(name: "Executors", dependencies: ["ConfigModel"], swiftSettings: strict),
        .target(
            name: "Supervisor",
            dependencies: [
                "ConfigModel", "Executors", "CProcessControl",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "metal-agent",
            dependencies: [
                "ConfigModel", "Executors", "Supervisor", "metal-agent-guard", "CBuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // What the test targets share: loopback sockets and /proc readings (no product; tests only).
        .target(name: "TestSupport", dependencies: ["CProcessControl"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "ConfigModelTests", dependencies: ["ConfigModel"], exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "ExecutorsTests", dependencies: ["Executors", "ConfigModel"], swiftSettings: strict),
        .testTarget(
            name: "SupervisorTests",
            dependencies: ["Supervisor", "Executors", "ConfigModel", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "ConfigModel", "Supervisor", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
    ]
)
