// swift-tools-version:6.0
// libFuzzer targets over sgk (issue 21, "Fuzzing"). A package of its own, outside the normal
// build: their `main` hands over to libFuzzer's driver (LLVMFuzzerRunDriver, linked in by
// -sanitize=fuzzer), so they build only with that flag, on Linux. Run them with tools/fuzz.sh TARGET SECONDS, which builds
// them as:
//   swift build --package-path Tests/Fuzz -Xswiftc -sanitize=fuzzer --product fuzz-check
// The seed corpus is Tests/Fuzz/corpus/TARGET (check: the behaviour tests' scripts; codecs:
// YAML and JSON documents).
import PackageDescription

let package = Package(
    name: "sgk-fuzz",
    dependencies: [.package(name: "sgk", path: "../..")],
    targets: [
        // The lexer, parser and resolver: what `sgk check` runs on a script.
        .executableTarget(name: "fuzz-check", dependencies: [.product(name: "SGKLanguage", package: "sgk")],
                          path: "Sources/FuzzCheck"),
        // The YAML and JSON codecs: parse, emit, and parse again.
        .executableTarget(name: "fuzz-codecs", dependencies: [.product(name: "SGKData", package: "sgk")],
                          path: "Sources/FuzzCodecs"),
    ],
    swiftLanguageModes: [.v6]
)
