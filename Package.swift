// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "billsync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "billsync", targets: ["billsync"]),
        .executable(name: "billsync-sim", targets: ["billsync-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "BillSyncCore"),
        .target(name: "BillSyncHTTP", dependencies: ["CCurl", "BillSyncCore"]),
        .target(name: "BillSyncConfig", dependencies: ["BillSyncCore", "BillSyncProviders", "BillSyncExport", "TOMLKit"]),
        .target(name: "BillSyncProviders", dependencies: ["BillSyncCore", "BillSyncHTTP"]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "BillSyncStore", dependencies: ["BillSyncCore", "CSQLite"]),
        .target(name: "BillSyncEngine", dependencies: [
            "BillSyncCore", "BillSyncHTTP", "BillSyncProviders", "BillSyncStore", "BillSyncConfig",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .systemLibrary(
            name: "CXLSXWriter", path: "Sources/CXLSXWriter", pkgConfig: "xlsxwriter", providers: [.apt(["libxlsxwriter-dev"])]),
        .target(name: "BillSyncExport", dependencies: ["BillSyncCore", "BillSyncStore", "BillSyncProviders", "CXLSXWriter"]),
        .target(name: "BillSyncMetrics", dependencies: [
            "BillSyncCore", "BillSyncConfig", "BillSyncEngine", "BillSyncStore", "BillSyncExport",
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .target(name: "BillSyncServer", dependencies: [
            "BillSyncCore", "BillSyncConfig", "BillSyncStore", "BillSyncMetrics", "BillSyncProviders",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        ]),
        .target(name: "BillSyncDaemon", dependencies: [
            "BillSyncCore", "BillSyncConfig", "BillSyncEngine", "BillSyncExport", "BillSyncStore", "BillSyncMetrics",
            "BillSyncServer",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "BillSyncSimulator"),
        .executableTarget(name: "billsync", dependencies: [
            "BillSyncCore", "BillSyncConfig", "BillSyncDaemon", "BillSyncEngine", "BillSyncExport",
            "BillSyncStore", "BillSyncSimulator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], linkerSettings: [
            // Release builds link with lld and pack the relative relocations (DT_RELR, glibc 2.36+):
            // the loader's table shrinks from 2 MB to 16 KB, so billsync starts with ~2 MiB less resident.
            // The functions a sync, an export and the other commands run are laid out together
            // (scripts/billsync.order, made by scripts/order-functions): about 1.2 MB of the
            // 24 MB of code, which otherwise lies scattered, and the kernel maps code 64 KiB
            // around each page it faults in.
            .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
                          "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/scripts/billsync.order",
                          "-Xlinker", "--no-warn-symbol-ordering"],
                         .when(platforms: [.linux], configuration: .release)),
        ]),
        .executableTarget(name: "billsync-sim", dependencies: [
            "BillSyncSimulator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "BillSyncTestSupport", dependencies: ["BillSyncSimulator", "BillSyncCore"], path: "Tests/BillSyncTestSupport"),
        .testTarget(name: "BillSyncCoreTests", dependencies: ["BillSyncCore", "BillSyncTestSupport"]),
        .testTarget(name: "BillSyncHTTPTests", dependencies: ["BillSyncHTTP", "BillSyncCore", "BillSyncTestSupport"]),
        .testTarget(name: "BillSyncConfigTests", dependencies: ["BillSyncConfig", "BillSyncCore"]),
        .testTarget(name: "BillSyncProvidersTests", dependencies: [
            "BillSyncProviders", "BillSyncStore", "BillSyncCore", "BillSyncHTTP", "BillSyncSimulator", "BillSyncTestSupport",
        ]),
        .testTarget(name: "BillSyncEngineTests", dependencies: [
            "BillSyncEngine", "BillSyncStore", "BillSyncConfig", "BillSyncCore", "BillSyncSimulator", "CSQLite",
            "BillSyncTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "BillSyncStoreTests", dependencies: ["BillSyncStore", "BillSyncCore"]),
        .testTarget(name: "BillSyncExportTests", dependencies: [
            "BillSyncExport", "BillSyncStore", "BillSyncCore", "BillSyncConfig", "BillSyncTestSupport",
        ]),
        .testTarget(name: "BillSyncSimulatorTests", dependencies: ["BillSyncSimulator", "BillSyncTestSupport"]),
        .testTarget(
            name: "BillSyncCLITests",
            dependencies: [
                "BillSyncSimulator", "BillSyncCore", "BillSyncDaemon", "BillSyncStore", "BillSyncTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
    ]
)
