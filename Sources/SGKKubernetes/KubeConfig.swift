import Foundation
import OrderedCollections
import SGKData

/// Where configuration comes from: the process environment and home directory are injected,
/// so tests never mutate the real process environment.
public struct KubeEnvironment: Sendable {
    /// Environment variables (`KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, `PATH`, …).
    public var variables: [String: String]
    /// The home directory (`~/.kube/config` is the default kubeconfig).
    public var homeDirectory: String
    /// The service-account directory used by in-cluster config.
    public var serviceAccountDirectory: String

    public init(variables: [String: String], homeDirectory: String,
                serviceAccountDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount") {
        self.variables = variables
        self.homeDirectory = homeDirectory
        self.serviceAccountDirectory = serviceAccountDirectory
    }

    /// The real process environment and home directory.
    public static func process() -> KubeEnvironment {
        let env = ProcessInfo.processInfo.environment
        return KubeEnvironment(variables: env, homeDirectory: env["HOME"] ?? NSHomeDirectory())
    }
}

/// A named cluster entry of a kubeconfig.
public struct ClusterConfig: Sendable, Hashable {
    public var name: String
    /// API server URL, e.g. `https://127.0.0.1:6443`.
    public var server: String
    /// PEM bytes of the CA bundle (from `certificate-authority-data` or the file `certificate-authority`).
    public var certificateAuthorityData: [UInt8]?
    /// Absolute path of `certificate-authority`, when given as a file.
    public var certificateAuthorityPath: String?
    public var insecureSkipTLSVerify: Bool
    /// Name to verify the server certificate against (`tls-server-name`).
    public var tlsServerName: String?
    /// `proxy-url` (http, https or socks5).
    public var proxyURL: String?
    /// `extensions` and anything else under `cluster`, passed to exec plugins with `provideClusterInfo`.
    public var raw: JSON
    /// The kubeconfig file that defines it, for messages.
    public var file: String?

    public init(name: String, server: String, certificateAuthorityData: [UInt8]? = nil,
                certificateAuthorityPath: String? = nil, insecureSkipTLSVerify: Bool = false,
                tlsServerName: String? = nil, proxyURL: String? = nil, raw: JSON = .object([:])) {
        self.name = name; self.server = server; self.certificateAuthorityData = certificateAuthorityData
        self.certificateAuthorityPath = certificateAuthorityPath
        self.insecureSkipTLSVerify = insecureSkipTLSVerify; self.tlsServerName = tlsServerName
        self.proxyURL = proxyURL; self.raw = raw
    }
}

/// One `env` entry of an exec plugin.
public struct ExecEnvVar: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) { self.name = name; self.value = value }
}

/// An exec credential plugin (`users[].user.exec`), e.g. `aws eks get-token` or `sgk eks token`.
public struct ExecConfig: Sendable, Hashable {
    /// `client.authentication.k8s.io/v1` or `…/v1beta1`.
    public var apiVersion: String
    /// The command, resolved against the kubeconfig's directory when it is a relative path with a slash.
    public var command: String
    public var args: [String]
    public var env: [ExecEnvVar]
    public var provideClusterInfo: Bool
    /// `Never`, `IfAvailable` or `Always`.
    public var interactiveMode: String
    public var installHint: String?
    /// The cluster this user is used with (filled at resolution; sent in `KUBERNETES_EXEC_INFO`).
    public var cluster: ClusterConfig?
    /// The kubeconfig user this plugin belongs to, and its file: for error messages.
    public var user: String?
    public var file: String?

    public init(apiVersion: String, command: String, args: [String] = [], env: [ExecEnvVar] = [],
                provideClusterInfo: Bool = false, interactiveMode: String = "IfAvailable",
                installHint: String? = nil, cluster: ClusterConfig? = nil, user: String? = nil, file: String? = nil) {
        self.apiVersion = apiVersion; self.command = command; self.args = args; self.env = env
        self.provideClusterInfo = provideClusterInfo; self.interactiveMode = interactiveMode
        self.installHint = installHint; self.cluster = cluster; self.user = user; self.file = file
    }

    /// How messages name the plugin: `/usr/bin/aws (user dev in /home/me/.kube/config)`.
    public var described: String {
        var where_: [String] = []
        if let user { where_.append("user \(user)") }
        if let file { where_.append("in \(file)") }
        return where_.isEmpty ? command : "\(command) (\(where_.joined(separator: " ")))"
    }

    /// The value of an `env` entry, e.g. `AWS_PROFILE`.
    public func envValue(_ name: String) -> String? { env.last(where: { $0.name == name })?.value }

    /// For `aws eks get-token --cluster-name X` / `sgk eks token --cluster-name X`: the value following `flag`.
    public func argument(after flag: String) -> String? {
        for (i, a) in args.enumerated() {
            if a == flag, i + 1 < args.count { return args[i + 1] }
            if a.hasPrefix(flag + "=") { return String(a.dropFirst(flag.count + 1)) }
        }
        return nil
    }
}

/// A named user (`users[].user`) of a kubeconfig.
public struct UserConfig: Sendable, Hashable {
    public var name: String
    public var token: String?
    /// Absolute path of `tokenFile`; read at each use (it may be rotated).
    public var tokenFile: String?
    /// PEM client certificate (from `client-certificate-data` or the file `client-certificate`).
    public var clientCertificateData: [UInt8]?
    /// PEM private key, RSA or EC (from `client-key-data` or `client-key`).
    public var clientKeyData: [UInt8]?
    public var username: String?
    public var password: String?
    public var exec: ExecConfig?
    /// `auth-provider`'s name, unsupported (legacy gcp/azure/oidc providers).
    public var authProvider: String?
    /// The kubeconfig file that defines it, for messages.
    public var file: String?

    public init(name: String, token: String? = nil, tokenFile: String? = nil, clientCertificateData: [UInt8]? = nil,
                clientKeyData: [UInt8]? = nil, username: String? = nil, password: String? = nil,
                exec: ExecConfig? = nil, authProvider: String? = nil) {
        self.name = name; self.token = token; self.tokenFile = tokenFile
        self.clientCertificateData = clientCertificateData; self.clientKeyData = clientKeyData
        self.username = username; self.password = password; self.exec = exec; self.authProvider = authProvider
    }
}

/// A named context: cluster + user + default namespace.
public struct ContextConfig: Sendable, Hashable {
    public var name: String
    public var cluster: String
    public var user: String
    public var namespace: String?
    /// The kubeconfig file that defines it, for messages.
    public var file: String?
    public init(name: String, cluster: String, user: String, namespace: String? = nil) {
        self.name = name; self.cluster = cluster; self.user = user; self.namespace = namespace
    }
}

/// Everything needed to talk to one cluster: the resolved context.
public struct KubeTarget: Sendable {
    /// The context's name (`in-cluster` for in-cluster config).
    public var contextName: String
    public var cluster: ClusterConfig
    public var user: UserConfig
    /// The context's namespace, or `default`.
    public var namespace: String
    public init(contextName: String, cluster: ClusterConfig, user: UserConfig, namespace: String) {
        self.contextName = contextName; self.cluster = cluster; self.user = user; self.namespace = namespace
    }
}

/// A kubeconfig as kubectl reads it: one file or several merged (`KUBECONFIG=a:b`).
public struct KubeConfig: Sendable {
    public var clusters: OrderedDictionary<String, ClusterConfig> = [:]
    public var users: OrderedDictionary<String, UserConfig> = [:]
    public var contexts: OrderedDictionary<String, ContextConfig> = [:]
    /// `current-context`, from the first file that sets it.
    public var currentContext: String?
    /// The files read, in order (missing ones of a `KUBECONFIG` list are skipped).
    public var files: [String] = []
    /// Where `load` looked (the `KUBECONFIG` entries, or `~/.kube/config`), for a message when
    /// none of them exists.
    public var searched: [String] = []
    /// The file `use-context` writes to (kubectl's rule: the explicit file; else the only or first
    /// existing `KUBECONFIG` entry; else `~/.kube/config`).
    public var destinationFile: String?

    public init() {}

    /// Loads the kubeconfig kubectl would: `explicitPath` (`--kubeconfig`) alone if given; else the
    /// `KUBECONFIG` list merged (first file wins per named entry); else `~/.kube/config`.
    public static func load(environment: KubeEnvironment, explicitPath: String? = nil) throws -> KubeConfig {
        let fm = FileManager.default
        if let explicitPath {
            guard fm.fileExists(atPath: explicitPath) else {
                throw KubeError.config("file \(explicitPath) does not exist")
            }
            var c = try parseFile(explicitPath)
            c.destinationFile = explicitPath
            return c
        }
        if let list = environment.variables["KUBECONFIG"], !list.isEmpty {
            let paths = list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
            var seen = Set<String>()
            var configs: [KubeConfig] = []
            for p in paths where !seen.contains(p) {
                seen.insert(p)
                if fm.fileExists(atPath: p) { configs.append(try parseFile(p)) }
            }
            var merged = merge(configs)
            merged.searched = paths
            if paths.count == 1 {
                merged.destinationFile = paths.first
            } else {
                merged.destinationFile = paths.first(where: { fm.fileExists(atPath: $0) }) ?? paths.last
            }
            return merged
        }
        let home = (environment.homeDirectory as NSString).appendingPathComponent(".kube/config")
        var c = fm.fileExists(atPath: home) ? try parseFile(home) : KubeConfig()
        c.destinationFile = home
        c.searched = [home]
        return c
    }

    /// Merges configs with kubectl's rules: the first to define a named entry wins; the first
    /// non-empty `current-context` wins.
    public static func merge(_ configs: [KubeConfig]) -> KubeConfig {
        var out = KubeConfig()
        for c in configs {
            for (k, v) in c.clusters where out.clusters[k] == nil { out.clusters[k] = v }
            for (k, v) in c.users where out.users[k] == nil { out.users[k] = v }
            for (k, v) in c.contexts where out.contexts[k] == nil { out.contexts[k] = v }
            if out.currentContext == nil || out.currentContext == "" { out.currentContext = c.currentContext }
            out.files += c.files
        }
        return out
    }

    /// Reads and parses one kubeconfig file.
    public static func parseFile(_ path: String) throws -> KubeConfig {
        // FileHandle, not String(contentsOfFile:): that refuses character devices (KUBECONFIG=/dev/null,
        // which kubectl reads as an empty config) with a misleading "permission" error.
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw KubeError.config("\(path) is a folder, not a kubeconfig file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let why = !fm.fileExists(atPath: path) ? "no such file" : !fm.isReadableFile(atPath: path) ? "permission denied" : "cannot open it"
            throw KubeError.config("cannot read \(path): \(why)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw KubeError.config("cannot read \(path): \(error.localizedDescription)")
        }
        guard let text = String(validating: Array(data), as: UTF8.self), !data.contains(0) else {
            throw KubeError.config("\(path) is not a kubeconfig: it is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// Parses kubeconfig text; relative paths are resolved against `path`'s directory.
    public static func parse(_ text: String, path: String) throws -> KubeConfig {
        let doc: JSON
        do {
            doc = text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? .object([:]) : try YAMLCodec.parse(text)
        } catch {
            throw KubeError.config("cannot parse \(path): \(error)")
        }
        if case .null = doc { var c = KubeConfig(); c.files = [path]; return c }
        guard case .object = doc else { throw KubeError.config("\(path) is not a kubeconfig (not a mapping)") }
        let dir = (path as NSString).deletingLastPathComponent
        let f = KubeConfigFields(path: path)
        var c = KubeConfig()
        c.files = [path]
        if let cc = try f.string(doc["current-context"], "current-context"), !cc.isEmpty { c.currentContext = cc }

        for (i, entry) in try f.list(doc["clusters"], "clusters").enumerated() {
            _ = try f.mapping(entry, "clusters[\(i)]")
            guard let name = try f.string(entry["name"], "clusters[\(i)].name") else { continue }
            guard let cl = try f.mapping(entry["cluster"], "clusters[\(name)].cluster") else { continue }
            if c.clusters[name] != nil { continue }
            let at = "clusters[\(name)]"
            var cluster = ClusterConfig(name: name, server: try f.string(cl["server"], "\(at).server") ?? "", raw: cl)
            if let d = try f.string(cl["certificate-authority-data"], "\(at).certificate-authority-data") {
                cluster.certificateAuthorityData = try decodeBase64(d, what: "\(at).certificate-authority-data", path: path)
            } else if let file = try f.string(cl["certificate-authority"], "\(at).certificate-authority"), !file.isEmpty {
                let abs = resolvePath(file, dir: dir)
                cluster.certificateAuthorityPath = abs
                cluster.certificateAuthorityData = try readFile(abs, what: "certificate-authority of cluster \(name) (in \(path))")
            }
            cluster.insecureSkipTLSVerify = try f.bool(cl["insecure-skip-tls-verify"], "\(at).insecure-skip-tls-verify") ?? false
            cluster.tlsServerName = try f.string(cl["tls-server-name"], "\(at).tls-server-name")
            cluster.proxyURL = try f.string(cl["proxy-url"], "\(at).proxy-url")
            cluster.file = path
            c.clusters[name] = cluster
        }

        for (i, entry) in try f.list(doc["users"], "users").enumerated() {
            _ = try f.mapping(entry, "users[\(i)]")
            guard let name = try f.string(entry["name"], "users[\(i)].name") else { continue }
            if c.users[name] != nil { continue }
            let at = "users[\(name)]"
            let u = try f.mapping(entry["user"], "\(at).user") ?? .object([:])
            var user = UserConfig(name: name)
            user.token = try f.string(u["token"], "\(at).token")
            if let tf = try f.string(u["tokenFile"], "\(at).tokenFile"), !tf.isEmpty { user.tokenFile = resolvePath(tf, dir: dir) }
            if let d = try f.string(u["client-certificate-data"], "\(at).client-certificate-data") {
                user.clientCertificateData = try decodeBase64(d, what: "\(at).client-certificate-data", path: path)
            } else if let file = try f.string(u["client-certificate"], "\(at).client-certificate"), !file.isEmpty {
                user.clientCertificateData = try readFile(resolvePath(file, dir: dir), what: "client-certificate of user \(name) (in \(path))")
            }
            if let d = try f.string(u["client-key-data"], "\(at).client-key-data") {
                user.clientKeyData = try decodeBase64(d, what: "\(at).client-key-data", path: path)
            } else if let file = try f.string(u["client-key"], "\(at).client-key"), !file.isEmpty {
                user.clientKeyData = try readFile(resolvePath(file, dir: dir), what: "client-key of user \(name) (in \(path))")
            }
            user.username = try f.string(u["username"], "\(at).username")
            user.password = try f.string(u["password"], "\(at).password")
            if let ap = try f.mapping(u["auth-provider"], "\(at).auth-provider") {
                user.authProvider = try f.string(ap["name"], "\(at).auth-provider.name")
            }
            if let e = try f.mapping(u["exec"], "\(at).exec") {
                guard let cmd = try f.string(e["command"], "\(at).exec.command"), !cmd.isEmpty else {
                    throw KubeError.config("user \(name) in \(path): exec without command")
                }
                let command = (cmd.contains("/") && !cmd.hasPrefix("/")) ? resolvePath(cmd, dir: dir) : cmd
                var env: [ExecEnvVar] = []
                for (j, v) in try f.list(e["env"], "\(at).exec.env").enumerated() {
                    _ = try f.mapping(v, "\(at).exec.env[\(j)]")
                    guard let n = try f.string(v["name"], "\(at).exec.env[\(j)].name") else { continue }
                    env.append(ExecEnvVar(name: n, value: try f.string(v["value"], "\(at).exec.env[\(j)].value") ?? ""))
                }
                var args: [String] = []
                for (j, a) in try f.list(e["args"], "\(at).exec.args").enumerated() {
                    if let a = try f.string(a, "\(at).exec.args[\(j)]") { args.append(a) }
                }
                user.exec = ExecConfig(
                    apiVersion: try f.string(e["apiVersion"], "\(at).exec.apiVersion") ?? "client.authentication.k8s.io/v1beta1",
                    command: command,
                    args: args,
                    env: env,
                    provideClusterInfo: try f.bool(e["provideClusterInfo"], "\(at).exec.provideClusterInfo") ?? false,
                    interactiveMode: try f.string(e["interactiveMode"], "\(at).exec.interactiveMode") ?? "IfAvailable",
                    installHint: try f.string(e["installHint"], "\(at).exec.installHint"), user: name, file: path)
            }
            user.file = path
            c.users[name] = user
        }

        for (i, entry) in try f.list(doc["contexts"], "contexts").enumerated() {
            _ = try f.mapping(entry, "contexts[\(i)]")
            guard let name = try f.string(entry["name"], "contexts[\(i)].name") else { continue }
            if c.contexts[name] != nil { continue }
            let at = "contexts[\(name)]"
            let ctx = try f.mapping(entry["context"], "\(at).context") ?? .object([:])
            var context = ContextConfig(
                name: name, cluster: try f.string(ctx["cluster"], "\(at).cluster") ?? "", user: try f.string(ctx["user"], "\(at).user") ?? "",
                namespace: try f.string(ctx["namespace"], "\(at).namespace").flatMap { $0.isEmpty ? nil : $0 })
            context.file = path
            c.contexts[name] = context
        }
        return c
    }

    /// Resolves a context (the current one unless `context` is given) into a target.
    /// `namespace` overrides the context's namespace.
    public func resolve(context: String? = nil, namespace: String? = nil) throws -> KubeTarget {
        guard let name = context ?? currentContext, !name.isEmpty else {
            if files.isEmpty {
                if searched.count == 1, searched[0].hasSuffix("/.kube/config") {
                    throw KubeError.config("no kubeconfig found: \(searched[0]) does not exist (create it, set KUBECONFIG or give --kubeconfig)")
                }
                if !searched.isEmpty {
                    let which = searched.count == 1 ? "\(searched[0]), which does not exist" : "\(searched.joined(separator: ", ")), none of which exists"
                    throw KubeError.config("no kubeconfig found: KUBECONFIG names \(which)")
                }
                throw KubeError.config("no kubeconfig found (set KUBECONFIG or create ~/.kube/config)")
            }
            throw KubeError.config("current-context is not set in \(files.joined(separator: ", "))")
        }
        guard let ctx = contexts[name] else {
            throw KubeError.config("context \"\(name)\" not found in \(files.joined(separator: ", "))")
        }
        let ctxFile = ctx.file ?? files.joined(separator: ", ")
        guard var cluster = clusters[ctx.cluster] else {
            throw KubeError.config("cluster \"\(ctx.cluster)\" of context \"\(name)\" (in \(ctxFile)) not found in \(files.joined(separator: ", "))")
        }
        let clusterFile = cluster.file ?? ctxFile
        guard !cluster.server.isEmpty else {
            throw KubeError.config("cluster \"\(ctx.cluster)\" in \(clusterFile) has no server")
        }
        if cluster.server.hasSuffix("/") { cluster.server.removeLast() }
        if let ca = cluster.certificateAuthorityData, let problem = KubeConfig.pemProblem(ca, kind: "CERTIFICATE") {
            let what = cluster.certificateAuthorityPath.map { "certificate-authority \($0)" } ?? "certificate-authority-data"
            throw KubeError.config("\(what) of cluster \"\(cluster.name)\" in \(clusterFile) is not a PEM certificate: \(problem)")
        }
        if !ctx.user.isEmpty, users[ctx.user] == nil {
            throw KubeError.config("user \"\(ctx.user)\" of context \"\(name)\" (in \(ctxFile)) not found in \(files.joined(separator: ", "))")
        }
        if let u = users[ctx.user] {
            let userFile = u.file ?? ctxFile
            if let cert = u.clientCertificateData, let problem = KubeConfig.pemProblem(cert, kind: "CERTIFICATE") {
                throw KubeError.config("the client certificate of user \"\(u.name)\" in \(userFile) is not a PEM certificate: \(problem)")
            }
            if let key = u.clientKeyData, let problem = KubeConfig.pemProblem(key, kind: "PRIVATE KEY") {
                throw KubeError.config("the client key of user \"\(u.name)\" in \(userFile) is not a PEM private key: \(problem)")
            }
        }
        var user = users[ctx.user] ?? UserConfig(name: ctx.user)
        if user.exec != nil { user.exec?.cluster = cluster }
        return KubeTarget(contextName: name, cluster: cluster, user: user,
                          namespace: namespace ?? ctx.namespace ?? "default")
    }

    /// In-cluster configuration: `KUBERNETES_SERVICE_HOST`/`PORT` and the service account's
    /// token, CA and namespace files under `environment.serviceAccountDirectory`.
    public static func inCluster(environment: KubeEnvironment) throws -> KubeTarget {
        guard let host = environment.variables["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment.variables["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw KubeError.config("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
        }
        let dir = environment.serviceAccountDirectory
        let tokenPath = (dir as NSString).appendingPathComponent("token")
        let caPath = (dir as NSString).appendingPathComponent("ca.crt")
        guard FileManager.default.fileExists(atPath: tokenPath) else {
            throw KubeError.config("in-cluster: service-account token \(tokenPath) not found")
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var cluster = ClusterConfig(name: "in-cluster", server: "https://\(hostPart):\(port)")
        if FileManager.default.fileExists(atPath: caPath) {
            cluster.certificateAuthorityData = try readFile(caPath, what: "in-cluster CA")
            cluster.certificateAuthorityPath = caPath
        }
        let user = UserConfig(name: "in-cluster", tokenFile: tokenPath)
        let nsPath = (dir as NSString).appendingPathComponent("namespace")
        var ns = "default"
        if let data = FileManager.default.contents(atPath: nsPath),
           let s = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty {
            ns = s
        }
        return KubeTarget(contextName: "in-cluster", cluster: cluster, user: user, namespace: ns)
    }

    /// Rows of `kubectl config get-contexts`: (current, name, cluster, authinfo, namespace), sorted by name.
    public func contextRows() -> [(current: Bool, name: String, cluster: String, user: String, namespace: String)] {
        contexts.values.sorted { $0.name < $1.name }.map {
            ($0.name == currentContext, $0.name, $0.cluster, $0.user, $0.namespace ?? "")
        }
    }

    /// `kubectl config get-contexts` text.
    public func renderContexts() -> String {
        let rows = contextRows().map { [$0.current ? "*" : "", $0.name, $0.cluster, $0.user, $0.namespace] }
        return TableRenderer.render(headers: ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"], rows: rows)
    }

    /// `kubectl config use-context NAME`: sets `current-context` in the destination file, editing only
    /// that line (comments and the rest of the file are kept). Returns the file written.
    @discardableResult
    public func useContext(_ name: String) throws -> String {
        guard contexts[name] != nil else {
            throw KubeError.config("no context exists with the name: \"\(name)\"")
        }
        guard let file = destinationFile else { throw KubeError.config("no kubeconfig file to write") }
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let newText = KubeConfig.settingCurrentContext(in: text, to: name)
        do {
            let dir = (file as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try KubeConfig.replace(file, with: newText)
        } catch {
            throw KubeError.config("cannot write \(file): \(error.localizedDescription)")
        }
        return file
    }

    /// Replaces a file's contents atomically without widening who may read it: the new text goes
    /// to a temporary file created with mode 0600 beside it, which gets the old file's mode
    /// (0600 for a new file) and is renamed over it. A kubeconfig holds tokens and private keys.
    static func replace(_ file: String, with text: String) throws {
        var st = stat()
        let mode: mode_t = stat(file, &st) == 0 ? st.st_mode & 0o777 : 0o600
        let temp = file + ".sgk-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temp]) }
        var ok = true
        text.utf8CString.withUnsafeBufferPointer { buf in
            let bytes = buf.count - 1   // without the NUL
            var done = 0
            while done < bytes {
                let n = write(fd, buf.baseAddress! + done, bytes - done)
                if n <= 0 { ok = false; break }
                done += n
            }
        }
        ok = ok && fchmod(fd, mode) == 0 && fsync(fd) == 0
        close(fd)
        guard ok, rename(temp, file) == 0 else {
            unlink(temp)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file])
        }
    }

    /// Replaces (or adds) the top-level `current-context:` line of kubeconfig text.
    public static func settingCurrentContext(in text: String, to name: String) -> String {
        let value = yamlScalar(name)
        var lines = text.splitAll("\n")
        if let i = lines.firstIndex(where: { $0.hasPrefix("current-context:") }) {
            lines[i] = "current-context: \(value)"
            return lines.joined(separator: "\n")
        }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: \(value)\n"
        }
        var t = text
        if !t.hasSuffix("\n") { t += "\n" }
        return t + "current-context: \(value)\n"
    }

    static func yamlScalar(_ s: String) -> String {
        let plain = s.allSatisfy { $0.isLetter || $0.isNumber || "-_./@".contains($0) } && !s.isEmpty
            && !["true", "false", "null", "yes", "no", "on", "off", "~"].contains(s.lowercased())
            && Int(s) == nil && Double(s) == nil
        if plain { return s }
        return "\"" + s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
    }

    /// Why `bytes` is not PEM holding a `kind` block (`CERTIFICATE`; `PRIVATE KEY` matches RSA and
    /// EC keys too), or nil. Checks the shape only (markers, base64 between them); the TLS layer
    /// parses the contents. Never quotes the bytes (a key).
    static func pemProblem(_ bytes: [UInt8], kind: String) -> String? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return "it is not text (DER? convert it with openssl to PEM)" }
        var found = false
        var rest = Substring(text)
        while let begin = rest.range(of: "-----BEGIN ") {
            guard let labelEnd = rest[begin.upperBound...].range(of: "-----") else { return "a -----BEGIN line is not closed" }
            let label = rest[begin.upperBound..<labelEnd.lowerBound]
            guard let end = rest[labelEnd.upperBound...].range(of: "-----END \(label)-----") else {
                return "the \(label) block has no -----END \(label)----- line"
            }
            // Headers (`Proc-Type: …`, then a blank line) may come before the base64 of old keys.
            var body = rest[labelEnd.upperBound..<end.lowerBound]
            if body.contains(":"), let blank = body.range(of: "\n\n") ?? body.range(of: "\r\n\r\n") { body = body[blank.upperBound...] }
            let base64 = body.filter { !$0.isWhitespace }
            if base64.isEmpty || Data(base64Encoded: String(base64)) == nil { return "the \(label) block is not base64" }
            if label.hasSuffix(kind) { found = true }
            rest = rest[end.upperBound...]
        }
        return found ? nil : "it has no -----BEGIN \(kind)----- block"
    }

    static func resolvePath(_ p: String, dir: String) -> String {
        if p.hasPrefix("/") { return p }
        return ((dir as NSString).appendingPathComponent(p) as NSString).standardizingPath
    }

    static func decodeBase64(_ s: String, what: String, path: String) throws -> [UInt8] {
        let cleaned = s.filter { !$0.isWhitespace }
        guard let d = Data(base64Encoded: cleaned) else {
            throw KubeError.config("\(what) in \(path) is not valid base64")
        }
        return [UInt8](d)
    }

    static func readFile(_ path: String, what: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw KubeError.config("cannot read \(what): \(path) is a folder")
        }
        guard let d = FileManager.default.contents(atPath: path) else {
            throw KubeError.config("cannot read \(what): \(path)")
        }
        return [UInt8](d)
    }
}

/// Reads the typed fields of a kubeconfig: a field of the wrong type is an error that names the
/// field and the file (kubectl refuses such a file too), never a field quietly left out.
struct KubeConfigFields {
    let path: String

    func wrongType(_ field: String, _ expected: String, _ v: JSON) -> KubeError {
        let got: String
        switch v {
        case .bool(let b):
            return KubeError.config("\(path): \(field) must be \(expected), not the boolean \(b) (YAML reads an unquoted yes, no, on, off, true or false as a boolean: quote it)")
        case .int(let i): got = "the number \(i)"
        case .double(let d): got = "the number \(d)"
        case .string: got = "a string"
        case .array: got = "a list"
        case .object: got = "a mapping"
        case .null: got = "null"
        }
        return KubeError.config("\(path): \(field) must be \(expected), not \(got)")
    }

    /// A string; nil when absent or null. An integer is read as its digits (as kubectl does).
    func string(_ v: JSON?, _ field: String) throws -> String? {
        switch v {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        case let v?: throw wrongType(field, "a string", v)
        }
    }

    func bool(_ v: JSON?, _ field: String) throws -> Bool? {
        switch v {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let v?: throw wrongType(field, "true or false", v)
        }
    }

    /// A list; empty when absent or null.
    func list(_ v: JSON?, _ field: String) throws -> [JSON] {
        switch v {
        case nil, .null?: return []
        case .array(let a)?: return a
        case let v?: throw wrongType(field, "a list", v)
        }
    }

    /// A mapping; nil when absent or null.
    @discardableResult
    func mapping(_ v: JSON?, _ field: String) throws -> JSON? {
        switch v {
        case nil, .null?: return nil
        case .object?: return v
        case let v?: throw wrongType(field, "a mapping", v)
        }
    }
}
