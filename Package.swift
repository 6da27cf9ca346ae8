// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sgk",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sgk", targets: ["sgk"]),
        // For Tests/Fuzz (a package of its own, built with -sanitize=fuzzer by tools/fuzz.sh).
        .library(name: "SGKLanguage", targets: ["SGKLanguage"]),
        .library(name: "SGKData", targets: ["SGKData"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Ordered JSON and YAML trees shared by the language and the cloud clients.
        .target(
            name: "SGKData",
            dependencies: [
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The one HTTP/1.1 client: TLS (the server's identity checked as Go's crypto/x509 does),
        // proxies, time-outs, redirects, kept-alive connections. Knows nothing of AWS,
        // Kubernetes or the language.
        .target(
            name: "SGKHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSOCKS", package: "swift-nio-extras"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // The language: knows nothing of AWS, Kubernetes or terminals.
        .target(
            name: "SGKLanguage",
            dependencies: [
                "SGKData",
                .product(name: "OrderedCollections", package: "swift-collections"),
                "SGKHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // AWS: SigV4, credentials chain, IAM / STS / EKS. Knows nothing of the language.
        .target(
            name: "SGKAWS",
            dependencies: [
                "SGKData",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                "SGKHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Kubernetes: kubeconfig, REST client, discovery, apply. Knows nothing of the language.
        .target(
            name: "SGKKubernetes",
            dependencies: [
                "SGKData",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                "SGKHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Binds the clients into the language; the Effects seam.
        .target(
            name: "SGKPrimitives",
            dependencies: ["SGKLanguage", "SGKAWS", "SGKKubernetes", "SGKData", .product(name: "OrderedCollections", package: "swift-collections")]
        ),
        // libedit: static inline wrappers of its variadic calls (Swift cannot call C varargs).
        .systemLibrary(
            name: "CEditLine",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"]), .brew(["libedit"])]
        ),
        .target(
            name: "SGKREPL",
            dependencies: ["SGKLanguage", "SGKData", "CEditLine"]
        ),
        // Embeds stdlib/*.sgk and scripts/*.sgk into the binary.
        .executableTarget(name: "SGKEmbed", path: "Sources/SGKEmbed"),
        .plugin(
            name: "EmbedResources",
            capability: .buildTool(),
            dependencies: ["SGKEmbed"]
        ),
        .executableTarget(
            name: "sgk",
            dependencies: [
                "SGKLanguage", "SGKPrimitives", "SGKREPL", "SGKData",
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: [
                // Release builds: a position-dependent executable exporting no symbols. The
                // dynamic loader then neither relocates the binary's pointers nor searches a 2 MiB
                // symbol table at start-up: ~4 MiB less memory per run (docs/PERFORMANCE.md).
                .unsafeFlags(["-Xclang-linker", "-no-pie", "-Xlinker", "--no-export-dynamic"], .when(configuration: .release)),
            ],
            plugins: ["EmbedResources"]
        ),
        .testTarget(name: "SGKHTTPTests", dependencies: [
            "SGKHTTP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "SGKDataTests", dependencies: ["SGKData", .product(name: "OrderedCollections", package: "swift-collections")]),
        .testTarget(name: "SGKLanguageTests", dependencies: ["SGKLanguage"], exclude: ["behaviour"]),
        .testTarget(name: "SGKAWSTests", dependencies: [
            "SGKAWS", "SGKData",
            "SGKHTTP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "SGKKubernetesTests", dependencies: [
            "SGKKubernetes", "SGKData",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "SGKPrimitivesTests", dependencies: ["SGKPrimitives", "SGKLanguage", "SGKData", "SGKKubernetes", .product(name: "OrderedCollections", package: "swift-collections")]),
        .testTarget(name: "SGKREPLTests", dependencies: ["SGKREPL", "SGKLanguage", "SGKData"]),
    ],
    swiftLanguageModes: [.v6]
)
