// swift-tools-version:6.1
import PackageDescription

// Module borders are compile errors: a member is visible only where its module is imported
// (MemberImportVisibility), an import is internal unless a public declaration needs the module
// (InternalImportsByDefault: a `public import` marks where an API speaks another module's types),
// and CI builds with --explicit-target-dependency-import-check error, so an import of a module
// the target does not declare fails the build.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "tradesync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tradesync", targets: ["tradesync"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Named directly because Sources and the sandbox import their modules (NIOCore, NIOHTTP1,
        // NIOHTTPCompression); the versions are the ones async-http-client and hummingbird resolve.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.24.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // AES-256-GCM for tokens at rest. 3.12.3 or newer; 4.x is what the other packages resolve.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        // `serve`: metrics in Prometheus text, and the HTTP server, scheduler and workers as one service group.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The browser test drives headless Chromium over the DevTools protocol (a WebSocket).
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    ],
    targets: [
        // Values only: JSON, records, model types, diagnostics. No I/O.
        .target(name: "TradeSyncCore", swiftSettings: strict),
        // YAML → typed configuration, with file:line:col diagnostics. Components (paginators,
        // authenticators, casts) decode their own keys with Core's config kit where their
        // behaviour is, so Config holds them as values.
        .target(
            name: "TradeSyncConfig",
            dependencies: ["TradeSyncCore", "TradeSyncSources", "TradeSyncMapping", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Mapping interpreter: paths, value maps, casts.
        .target(name: "TradeSyncMapping", dependencies: ["TradeSyncCore"], swiftSettings: strict),
        // HTTP transport, authenticators, paginators.
        .target(
            name: "TradeSyncSources",
            dependencies: [
                "TradeSyncCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // The response decompression limit (`.ratio`).
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                // Provider responses and token requests are counted where they happen.
                .product(name: "Metrics", package: "swift-metrics"),
                // HMAC of signed webhook bodies (WebhookSignatureAuth).
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // System SQLite: the embedded store talks to the C API directly (see docs/architecture.md).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // System zlib: raw payloads are kept deflated (`keep_raw`). Foundation on Linux has no
        // compressor, and swift-nio-extras' compression is for HTTP bodies only.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // System zstd: a page's raw payloads are kept as one zstd frame (a third of zlib's CPU,
        // two thirds of its bytes on provider JSON). No Swift package in the mirror wraps it.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(
            name: "TradeSyncStore",
            dependencies: [
                "TradeSyncCore", "CSQLite", "CZlib", "CZstd",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TradeSyncEngine",
            dependencies: [
                "TradeSyncCore", "TradeSyncConfig", "TradeSyncMapping", "TradeSyncSources", "TradeSyncStore",
                .product(name: "Logging", package: "swift-log"),
                // Seals tokens before they reach the store (SecretSealer).
                .product(name: "Crypto", package: "swift-crypto"),
                // The loopback listener that receives the OAuth redirect (`connect`).
                .product(name: "Hummingbird", package: "hummingbird"),
                // Runs, records, provider responses and token refreshes are counted where they happen.
                .product(name: "Metrics", package: "swift-metrics"),
                // Scheduler and workers are services in `serve` / `worker`.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // `serve`: the seed's HTTP API, the integrations page, webhooks, /metrics. Reaches the rest
        // only through Engine's `Workspace`, as the CLI does.
        .target(
            name: "TradeSyncServer",
            dependencies: [
                "TradeSyncCore", "TradeSyncEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // HMAC-SHA1 of webhook bodies, SHA-256 of API tokens.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TradeSyncSandbox",
            dependencies: [
                "TradeSyncCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // FaultProxy forwards to the upstream with it.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // PKCE S256 checks at the emulated Google token endpoint.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The commands, as a library so tests can run them and snapshot their help.
        .target(
            name: "TradeSyncCLI",
            dependencies: [
                // Never Store or Sources: the commands reach them through the Engine's `Workspace`.
                "TradeSyncCore", "TradeSyncConfig", "TradeSyncEngine", "TradeSyncSandbox", "TradeSyncServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // SIGTERM / SIGINT for `serve` and `worker`.
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "tradesync", dependencies: ["TradeSyncCLI"], swiftSettings: strict),
        // `Benchmarks/run` drives it: one sync scenario per process, so peak RSS is the scenario's own.
        // The sync scenarios go through Engine's `Workspace`; the raw and download scenarios measure
        // the transport and a paginator alone, so they use Sources directly.
        .executableTarget(
            name: "tradesync-bench",
            dependencies: ["TradeSyncCore", "TradeSyncConfig", "TradeSyncEngine", "TradeSyncSources"],
            path: "Benchmarks/SyncBenchmark",
            swiftSettings: strict
        ),
        .testTarget(
            name: "TradeSyncTests",
            dependencies: [
                "TradeSyncCore", "TradeSyncConfig", "TradeSyncMapping", "TradeSyncSources", "TradeSyncStore",
                "TradeSyncEngine", "TradeSyncSandbox", "TradeSyncCLI", "TradeSyncServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                // Scratch databases and direct checks of what a run left in PostgreSQL.
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
    ]
)
