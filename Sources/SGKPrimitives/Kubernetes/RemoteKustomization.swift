import Foundation
import SGKData
import SGKLanguage

/// A kustomization tree at a URL (`kubectl kustomize https://…`, `apply -k https://…`): its files
/// are downloaded, as the kustomizations name them, into a temporary folder that is then rendered
/// as a local tree. The URL is a folder whose files are served beneath it (GitHub's raw layout:
/// `https://raw.githubusercontent.com/OWNER/REPO/REF/PATH`), or kustomize's GitHub form
/// `https://github.com/OWNER/REPO//PATH?ref=REF` (read through that raw layout). No git is run.
enum RemoteKustomization {
    /// Files per tree at most, and nesting depth: a hostile tree cannot make the download endless.
    static let maxFiles = 500
    static let maxDepth = 20
    static let names = ["kustomization.yaml", "kustomization.yml", "Kustomization"]

    static func isRemote(_ location: String) -> Bool {
        let lower = location.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// Where a location's files are: a root URL (GitHub: the repository's raw files at the ref;
    /// otherwise the server's origin) and the tree's path beneath it. A kustomization may name
    /// files anywhere under the root (`../crd`), as it may in a clone, but not above it.
    static func split(_ location: String) throws -> (root: String, path: String) {
        guard let u = URLComponents(string: location), let host = u.host?.lowercased(), let scheme = u.scheme?.lowercased() else {
            throw CommandError("invalid URL '\(SecretText.redactedURL(location))'")
        }
        if host == "github.com" {
            let parts = u.path.components(separatedBy: "//")
            let repo = parts[0].split(separator: "/").prefix(2)
            guard repo.count == 2 else {
                throw CommandError("\(location): a GitHub kustomization is https://github.com/OWNER/REPO//PATH?ref=TAG")
            }
            guard let ref = u.queryItems?.first(where: { $0.name == "ref" || $0.name == "version" })?.value, !ref.isEmpty else {
                throw CommandError("\(location) names no ref: add ?ref=TAG (a release tag, so that the tree does not change under you)")
            }
            let sub = parts.count > 1 ? parts[1...].joined(separator: "/") : ""
            return ("https://raw.githubusercontent.com/\(repo.joined(separator: "/"))/\(ref)", try normalized(sub, location))
        }
        let origin = "\(scheme)://\(u.host ?? host)" + (u.port.map { ":\($0)" } ?? "")
        return (origin, try normalized(u.path, location))
    }

    /// Downloads the tree at `location` into a new temporary folder and returns the tree's folder.
    static func materialize(_ location: String, context: CallContext) throws -> String {
        let (root, path) = try split(location)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sgk-kustomize-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        context.onShutdown { try? FileManager.default.removeItem(atPath: dir) }
        var count = 0
        guard try tree(root, path, into: dir, depth: 0, count: &count, context: context) else {
            throw CommandError("\(SecretText.redactedURL(location)) holds no kustomization (none of \(names.joined(separator: ", ")))", code: "KustomizeError",
                               hint: "give the URL of a folder with a kustomization.yaml (for GitHub: https://github.com/OWNER/REPO//PATH?ref=TAG)")
        }
        return path.isEmpty ? dir : dir + "/" + path
    }

    /// The text at `url`, or nil for a 404.
    static func get(_ url: String, context: CallContext) throws -> String? {
        do {
            return try IOCommands.fetchText(url, timeout: 60, context: context)
        } catch let e as CommandError where e.data["status"] == .int(404) {
            return nil
        }
    }

    static func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : b.isEmpty ? a : a + "/" + b }

    /// Downloads the kustomization at ROOT/PATH into DIR/PATH and every file it names; false when
    /// it holds no kustomization.
    static func tree(_ root: String, _ path: String, into dir: String, depth: Int, count: inout Int, context: CallContext) throws -> Bool {
        let url = join(root, path)
        guard depth <= maxDepth else { throw CommandError("\(SecretText.redactedURL(url)): kustomizations nested more than \(maxDepth) deep") }
        var found: (String, String)?
        for n in names { if let t = try get(url + "/" + n, context: context) { found = (n, t); break } }
        guard let (name, text) = found else { return false }
        try write(text, join(join(dir, path), name), &count)
        let k: JSON
        do { k = try YAMLCodec.parse(text) } catch {
            throw CommandError("\(SecretText.redactedURL(url))/\(name): \(error)", code: "KustomizeError")
        }
        for r in (k["resources"]?.arrayValue ?? []) + (k["bases"]?.arrayValue ?? []) + (k["components"]?.arrayValue ?? []) {
            guard let rel = r.stringValue, !isRemote(rel) else { continue }   // a remote resource: the renderer says it is not supported
            let p = try normalized(join(path, rel), url)
            if try !tree(root, p, into: dir, depth: depth + 1, count: &count, context: context) {
                try file(join(root, p), join(dir, p), &count, context)
            }
        }
        var files: [String] = []
        for p in k["patches"]?.arrayValue ?? [] { if let s = p["path"]?.stringValue { files.append(s) } }
        for p in k["patchesJson6902"]?.arrayValue ?? [] { if let s = p["path"]?.stringValue { files.append(s) } }
        for p in k["patchesStrategicMerge"]?.arrayValue ?? [] {
            if let s = p.stringValue, !s.contains("\n"), !s.contains(": ") { files.append(s) }
        }
        for g in (k["configMapGenerator"]?.arrayValue ?? []) + (k["secretGenerator"]?.arrayValue ?? []) {
            for f in g["files"]?.arrayValue ?? [] {
                if let s = f.stringValue { files.append(s.firstIndex(of: "=").map { String(s[s.index(after: $0)...]) } ?? s) }
            }
            for e in (g["envs"]?.arrayValue ?? []) + [g["env"]].compactMap({ $0 }) { if let s = e.stringValue { files.append(s) } }
        }
        for f in files {
            let p = try normalized(join(path, f), url)
            try file(join(root, p), join(dir, p), &count, context)
        }
        return true
    }

    /// A path beneath the root with `.` and `..` resolved; refused when it leaves the root.
    static func normalized(_ path: String, _ url: String) throws -> String {
        var out: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." {
                guard !out.isEmpty else {
                    throw CommandError("\(SecretText.redactedURL(url)): '\(path)' leaves the repository (or the server's root)", code: "KustomizeError",
                                       hint: "download the whole tree and pass its local folder")
                }
                out.removeLast()
            } else {
                out.append(part)
            }
        }
        return out.joined(separator: "/")
    }

    static func file(_ url: String, _ path: String, _ count: inout Int, _ context: CallContext) throws {
        guard let text = try get(url, context: context) else {
            throw CommandError("\(SecretText.redactedURL(url)) does not exist (HTTP 404): the kustomization names it", code: "KustomizeError")
        }
        try write(text, path, &count)
    }

    static func write(_ text: String, _ path: String, _ count: inout Int) throws {
        count += 1
        guard count <= maxFiles else { throw CommandError("the remote kustomization names more than \(maxFiles) files", code: "KustomizeError") }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw CommandError("cannot write \(path)")
        }
    }
}
