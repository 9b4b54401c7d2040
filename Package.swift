// swift-tools-version: 6.2
import PackageDescription

// Our own targets build with warnings as errors when TASKSCOPE_STRICT is set
// (scripts/test sets it, so CI does), never the dependencies.
let strict: [SwiftSetting] =
    Context.environment["TASKSCOPE_STRICT"] == nil ? [] : [.treatAllWarnings(as: .error)]

let package = Package(
    name: "taskscope",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TaskScope", targets: ["TaskScope"]),
        .library(name: "ScopeProtocol", targets: ["ScopeProtocol"]),
        .library(name: "ScopeClient", targets: ["ScopeClient"]),
        .library(name: "TaskScopeTesting", targets: ["TaskScopeTesting"]),
        .library(name: "TaskScopeMetrics", targets: ["TaskScopeMetrics"]),
        .library(name: "TaskScopeServiceLifecycle", targets: ["TaskScopeServiceLifecycle"]),
        // Empty unless the package's `Hummingbird` trait is on (the core never builds Hummingbird).
        .library(name: "TaskScopeHummingbird", targets: ["TaskScopeHummingbird"]),
        .executable(name: "taskscope", targets: ["taskscope"]),
    ],
    traits: [
        .trait(
            name: "Hummingbird",
            description: "TaskScopeHummingbird: a Hummingbird middleware that tracks each request as a scope."),
        .trait(
            name: "Untracked",
            description:
                "Builds taskscope's entry points as their plain equivalents (Task.tracked a Task, waits and scopes "
                + "their bodies), recording nothing: the baseline the service benchmark measures tracking against."),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
    ],
    targets: [
        .target(name: "ScopeProtocol", swiftSettings: strict),
        // Signal-safe reads of the process's own memory and stacks: the async stacks of waiting
        // tasks, and the frames of threads that block the cooperative pool.
        .target(name: "CTaskScopeNative"),
        .target(
            name: "TaskScope",
            dependencies: [
                "ScopeProtocol", "CTaskScopeNative",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                // A task started inside a span records its trace id (ServiceContext, the instrument's injector).
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        // Fleet metrics: what taskscope sees, through swift-metrics.
        .target(
            name: "TaskScopeMetrics",
            dependencies: ["TaskScope", "ScopeProtocol", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strict),
        // The agent as a swift-service-lifecycle service: a product of its own, so that the core
        // library does not depend on service-lifecycle.
        .target(
            name: "TaskScopeServiceLifecycle",
            dependencies: [
                "TaskScope", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // Hummingbird's middleware, with the `Hummingbird` trait only.
        .target(
            name: "TaskScopeHummingbird",
            dependencies: [
                "TaskScope",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
            ],
            swiftSettings: strict),
        // Leak checks for test suites (Swift Testing and XCTest).
        .target(name: "TaskScopeTesting", dependencies: ["TaskScope", "ScopeProtocol"], swiftSettings: strict),
        .target(
            name: "ScopeClient",
            dependencies: [
                "ScopeProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // ncursesw's pkg-config flags define _XOPEN_SOURCE, which SwiftPM refuses; the
        // module map links ncursesw itself and the shim sets what it needs.
        .systemLibrary(name: "CNcurses", providers: [.apt(["libncurses-dev"])]),
        .target(
            name: "ScopeUI",
            dependencies: ["ScopeClient", "ScopeProtocol", "CNcurses"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "taskscope",
            dependencies: [
                "ScopeClient",
                "ScopeUI",
                "TaskScope",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The benchmark: side-by-side ratios, run with `swift run -c release taskscope-bench`; never a test.
        .executableTarget(
            name: "taskscope-bench",
            dependencies: [
                "TaskScope", "ScopeClient", "ScopeUI", "ScopeProtocol",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ],
            swiftSettings: strict
        ),
        // A service exporting taskscope's metrics to Prometheus: the README's example, run by a test.
        .executableTarget(
            name: "taskscope-metrics-example",
            dependencies: [
                "TaskScope", "TaskScopeMetrics",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/MetricsExample", swiftSettings: strict),
        // The example service (README "In a service"): Hummingbird, service-lifecycle, tracing and
        // metrics around a handler with a switchable leak. Needs the `Hummingbird` trait.
        .executableTarget(
            name: "taskscope-example-service",
            dependencies: [
                "TaskScope", "TaskScopeHummingbird", "TaskScopeServiceLifecycle", "TaskScopeMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
            ],
            path: "Examples/OrderService", swiftSettings: strict),
        // A process embedding the agent beside a self-checking workload, for tests that attack it.
        .executableTarget(name: "taskscope-agent-host", dependencies: ["TaskScope"], path: "Tests/AgentHost"),
        .target(
            name: "TestSupport",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "ScopeProtocolTests", dependencies: ["ScopeProtocol"], swiftSettings: strict),
        .testTarget(
            name: "TaskScopeTests",
            dependencies: [
                "TaskScope", "ScopeProtocol", "TestSupport", .product(name: "Logging", package: "swift-log"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "ScopeClientTests", dependencies: ["ScopeClient", "TaskScope", "ScopeProtocol", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "TaskScopeMetricsTests",
            dependencies: [
                "TaskScopeMetrics", "TaskScope", "ScopeProtocol",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "TaskScopeServiceLifecycleTests",
            dependencies: [
                "TaskScopeServiceLifecycle", "TaskScope", "ScopeClient", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "TaskScopeHummingbirdTests",
            dependencies: [
                "TaskScopeHummingbird", "TaskScope", "ScopeClient", "ScopeProtocol", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
                .product(
                    name: "HummingbirdTesting", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
                "TaskScopeMetrics", .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "TaskScopeTestingTests", dependencies: ["TaskScopeTesting", "TaskScope", "ScopeProtocol"],
            swiftSettings: strict),
        .testTarget(
            name: "ScopeUITests", dependencies: ["ScopeUI", "ScopeProtocol", "ScopeClient", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "ScopeClient", "ScopeProtocol", "ScopeUI", "TaskScope", "TestSupport", "taskscope",
                "taskscope-agent-host",
                "taskscope-metrics-example",
                "taskscope-example-service",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
    ]
)
