import Foundation
import SGKData
import Testing
@testable import SGKKubernetes

/// `kubectl kustomize` natively: every tree under Tests/Fixtures/kustomize renders object for object
/// (keys and order included) as its `expected.yaml`, made by the real kubectl v1.32.4 (kustomize
/// v5.5.0); when `kubectl` is on PATH the test also runs it live and compares. The ACK trees of
/// ../shared are compared live only (their rendering is not committed).
enum KustomizeFixtures {
    static let root: String = {
        let file = URL(fileURLWithPath: #filePath)
        return file.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/kustomize").path
    }()

    static let cases: [String] = {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }()

    /// A case's kustomization: the case directory, or its `overlay` when it holds a base and an overlay.
    static func directory(_ name: String) -> String {
        let dir = root + "/" + name
        return Builder.hasKustomization(dir) ? dir : dir + "/overlay"
    }

    static let ackRoot: String = {
        let file = URL(fileURLWithPath: #filePath)
        let repo = file.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures/ack-sagemaker-controller/config").path
    }()

    static func kubectl() -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let p = "\(dir)/kubectl"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// The real `kubectl kustomize DIR` (offline), parsed.
    static func live(_ dir: String) throws -> [JSON]? {
        guard let kubectl = kubectl() else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: kubectl)
        p.arguments = ["kustomize", dir]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return try parse(String(decoding: data, as: UTF8.self))
    }

    static func parse(_ text: String) throws -> [JSON] {
        try YAMLCodec.parseDocuments(text).filter { if case .null = $0 { return false }; return true }
    }

    static func id(_ o: JSON) -> String {
        "\(o["kind"]?.stringValue ?? "?")/\(o.at("metadata", "namespace")?.stringValue ?? "")/\(o.at("metadata", "name")?.stringValue ?? "?")"
    }

    /// Compares object for object; returns how many are equal.
    static func compare(_ got: [JSON], _ want: [JSON], _ label: String) -> Int {
        #expect(got.map(id) == want.map(id), "\(label): objects or their order differ")
        var equal = 0
        for (g, w) in zip(got, want) {
            if g == w { equal += 1 } else {
                Issue.record("\(label): \(id(w)) differs:\n--- sgk\n\(YAMLCodec.emit(g))--- kubectl\n\(YAMLCodec.emit(w))")
            }
        }
        return equal
    }
}

@Suite struct KustomizeTests {
    @Test func atLeastTenCases() {
        #expect(KustomizeFixtures.cases.count >= 10)
    }

    @Test(arguments: KustomizeFixtures.cases)
    func rendersAsKubectl(_ name: String) throws {
        let dir = KustomizeFixtures.directory(name)
        let got = try Kustomize.render(directory: dir, environment: [:])
        let want = try KustomizeFixtures.parse(String(contentsOfFile: KustomizeFixtures.root + "/\(name)/expected.yaml", encoding: .utf8))
        #expect(!want.isEmpty)
        let equal = KustomizeFixtures.compare(got, want, name)
        #expect(equal == want.count)
        if let live = try KustomizeFixtures.live(dir) {
            #expect(live == want, "\(name): expected.yaml is stale against the installed kubectl")
            _ = KustomizeFixtures.compare(got, live, "\(name) (live)")
        }
        print("kustomize equality: \(name): \(equal)/\(want.count) objects equal")
    }

    @Test(arguments: ["default", "overlays/namespaced"])
    func rendersACKTreesAsKubectl(_ tree: String) throws {
        let dir = KustomizeFixtures.ackRoot + "/" + tree
        guard FileManager.default.fileExists(atPath: dir) else { return }
        let got = try Kustomize.render(directory: dir, environment: [:])
        // Without kubectl: the shape kustomize gives (CRDs first after the Namespace, Deployment near the end).
        #expect(got.first?["kind"]?.stringValue == "Namespace")
        #expect(got.filter { $0["kind"]?.stringValue == "CustomResourceDefinition" }.count == 28)
        let dep = try #require(got.first { $0["kind"]?.stringValue == "Deployment" })
        #expect(dep.at("spec", "template", "spec", "containers")?[0]?["image"]?.stringValue == "public.ecr.aws/aws-controllers-k8s/sagemaker-controller:1.9.1")
        if tree == "overlays/namespaced" {
            #expect(got.contains { $0["kind"]?.stringValue == "Role" && $0.at("metadata", "name")?.stringValue == "ack-sagemaker-controller" })
            #expect(got.contains { $0["kind"]?.stringValue == "RoleBinding" && $0.at("roleRef", "kind")?.stringValue == "Role" })
        }
        if let live = try KustomizeFixtures.live(dir) {
            let equal = KustomizeFixtures.compare(got, live, "ack \(tree)")
            #expect(equal == live.count)
            print("kustomize equality: ack \(tree): \(equal)/\(live.count) objects equal")
        }
    }

    // MARK: errors

    func write(_ files: [String: String]) throws -> TempDir {
        let t = try TempDir()
        for (name, text) in files {
            let p = t.path + "/" + name
            try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: p, atomically: true, encoding: .utf8)
        }
        return t
    }

    func error(_ files: [String: String], dir: String = "") throws -> String {
        let t = try write(files)
        do {
            _ = try Kustomize.render(directory: t.path + (dir.isEmpty ? "" : "/" + dir), environment: [:])
        } catch {
            return error.message
        }
        Issue.record("no error")
        return ""
    }

    static let unsupported = ["components", "replicas", "replacements", "vars", "generatorOptions", "helmCharts", "crds",
                              "configurations", "generators", "transformers", "validators", "openapi", "sortOptions",
                              "buildMetadata", "bases", "patchesStrategicMerge2", "imageTags", "commonlabels"]

    @Test(arguments: unsupported)
    func unsupportedFieldIsAnErrorNamingItAndTheFile(_ field: String) throws {
        let m = try error(["kustomization.yaml": "resources: []\n\(field): []\n"])
        #expect(m.contains("'\(field)'"))
        #expect(m.contains("kustomization.yaml"))
        #expect(m.contains("not supported"))
    }

    @Test func unsupportedNestedFieldsAreErrors() throws {
        #expect(try error(["kustomization.yaml": "configMapGenerator:\n- name: a\n  env: x.env\n"]).contains("'env'"))
        #expect(try error(["kustomization.yaml": "labels:\n- pairs: {a: b}\n  fields: []\n"]).contains("'fields'"))
        #expect(try error(["kustomization.yaml": "images:\n- name: a\n  tagSuffix: x\n"]).contains("'tagSuffix'"))
        #expect(try error(["kustomization.yaml": "patches:\n- path: p.yaml\n  options: {allowNameChange: true}\n", "p.yaml": "{}"]).contains("'options'"))
        #expect(try error(["kustomization.yaml": "patches:\n- path: p.yaml\n  target: {kind: X, labelselector: a}\n", "p.yaml": "[]"]).contains("'labelselector'"))
        #expect(try error(["kustomization.yaml": "kind: Component\n"]).contains("Component"))
    }

    @Test func resourceErrors() throws {
        #expect(try error(["kustomization.yaml": "resources: [plain]\n", "plain/a.yaml": "kind: ConfigMap\n"]).contains("without a kustomization"))
        #expect(try error(["kustomization.yaml": "resources: [missing.yaml]\n"]).contains("does not exist"))
        #expect(try error(["kustomization.yaml": "resources: [https://github.com/x/y]\n"]).contains("remote"))
        #expect(try error(["k/kustomization.yaml": "resources: [../a.yaml]\n", "a.yaml": "kind: ConfigMap\nmetadata: {name: a}\n"], dir: "k")
            .contains("outside"))
        #expect(try error(["x.yaml": "a: 1\n"]).contains("unable to find one of"))
        #expect(try error(["kustomization.yaml": "resources: [a.yaml, a.yaml]\n", "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"])
            .contains("already registered"))
        #expect(try error(["kustomization.yaml": "resources: [b]\n", "b/kustomization.yaml": "resources: [..]\n"]).contains("cycle"))
        #expect(try error(["kustomization.yaml": "patchesStrategicMerge: [p.yaml]\n", "p.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nope}\n"])
            .contains("no resource matches"))
        #expect(try error(["kustomization.yaml": "patches:\n- patch: '[{op: add, path: /x, value: 1}]'\n"]).contains("no target"))
        #expect(try error(["kustomization.yaml": "configMapGenerator:\n- name: a\n  behavior: merge\n  literals: [a=b]\n"]).contains("there is none"))
    }

    // MARK: units

    @Test func hashesAsKustomize() throws {
        // `kubectl kustomize` of configMapGenerator {name: cfg, literals: [b=2, a=1, c=<x>&]} with namePrefix p-.
        let cm = try YAMLCodec.parse("{apiVersion: v1, kind: ConfigMap, metadata: {name: p-cfg}, data: {a: '1', b: '2', c: '<x>&'}}")
        #expect(try Kustomize.hash(cm) == "8mmkc4b97c")
    }

    @Test func strategicMergeKeys() throws {
        let obj = try YAMLCodec.parse("""
            apiVersion: apps/v1
            kind: Deployment
            spec: {template: {spec: {containers: [{name: a, image: x}, {name: b, image: y}], tolerations: [{key: t}]}}}
            """)
        let patch = try YAMLCodec.parse("""
            spec: {template: {spec: {containers: [{name: b, image: z}], tolerations: [{key: u}]}}}
            """)
        let m = try StrategicMerge.merge(obj, patch)
        #expect(m.at("spec", "template", "spec", "containers") == (try YAMLCodec.parse("[{name: b, image: z}, {name: a, image: x}]")))
        #expect(m.at("spec", "template", "spec", "tolerations") == (try YAMLCodec.parse("[{key: u}]")))
    }

    @Test func jsonPatchOperations() throws {
        let doc = try YAMLCodec.parse("{a: [1, 2], b: {c: d}}")
        let ops = try YAMLCodec.parse("[{op: add, path: /a/-, value: 3}, {op: remove, path: /b/c}, {op: test, path: /a/0, value: 1}]")
        #expect(try JSONPatch.apply(ops, to: doc) == (try YAMLCodec.parse("{a: [1, 2, 3], b: {}}")))
        #expect(throws: JSONPatch.Failure.self) { try JSONPatch.apply(try YAMLCodec.parse("[{op: replace, path: /zz, value: 1}]"), to: doc) }
    }
}
