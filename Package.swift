// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Rekindle",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rekindle", targets: ["rekindle"]),
        .library(name: "RekindleCore", targets: ["RekindleCore"]),
        .library(name: "RekindleKafka", targets: ["RekindleKafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // Already in the graph through hummingbird; named for the status server's optional TLS.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        // The pure fold: events in, triggers and conversions out. No I/O, no clock, no Kafka.
        // Crypto is used only for SHA-256 of trigger ids and rule-set versions (a pure function).
        // The recommender's cosine terms, vectorised (Swift's square root is libm's, which may set
        // errno and so is never vectorised; see scoring.c). No flags: the vectors are written out.
        .target(name: "CRekindleScoring"),
        .target(
            name: "RekindleCore",
            dependencies: [
                "CRekindleScoring",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // The system-library shim over Debian's librdkafka-dev.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // A small safe Swift API over librdkafka: consumer, producer, mock cluster.
        .target(name: "RekindleKafka", dependencies: ["CRdKafka"]),
        // Files, rule-file loading, replay driver, reports, the live runner.
        .target(
            name: "RekindleRuntime",
            dependencies: [
                "RekindleCore",
                "RekindleKafka",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // SHA-256 of the status server's bearer token (a constant-time comparison).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // Test and benchmark tooling, apart from the product: the synthetic stream generator,
        // the decoder's differential fuzzer and the deterministic simulation of the live runtime.
        .target(
            name: "RekindleTooling",
            dependencies: [
                "RekindleCore",
                "RekindleKafka",
                "RekindleRuntime",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "rekindle",
            dependencies: [
                "RekindleCore",
                "RekindleRuntime",
                "RekindleTooling",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "RekindleCoreTests", dependencies: ["RekindleCore", "RekindleTooling"]),
        .testTarget(name: "RekindleKafkaTests", dependencies: ["RekindleKafka"]),
        .testTarget(
            name: "RekindleRuntimeTests",
            // The CLI tests run the built `rekindle` binary, so the test build builds it too.
            // RekindleTooling: generated streams, seeded shuffles and the simulation's comparison.
            // Yams: the deploy/ manifests are parsed as YAML by someone else's parser.
            dependencies: ["RekindleRuntime", "RekindleCore", "RekindleTooling", "rekindle", .product(name: "Yams", package: "Yams")]
        ),
        .testTarget(name: "RekindleToolingTests", dependencies: ["RekindleTooling", "RekindleRuntime", "RekindleCore"]),
    ]
)
