import Foundation
import SGKAWS
import SGKData
import SGKKubernetes
import SGKLanguage

/// Whether a kubeconfig context is the EKS cluster a procedure was given (`--cluster`): the
/// AWS side (OIDC provider, role) and the Kubernetes side (the annotated ServiceAccount) must be
/// the same cluster, or the operator fails at run time with AccessDenied, far from the cause.
///
/// A context proves it is the cluster when its server is the cluster's endpoint, when its
/// kubeconfig cluster entry is named by the cluster's ARN (what `aws eks update-kubeconfig`
/// writes), or when its user's exec plugin makes tokens for that cluster (`aws eks get-token
/// --cluster-name NAME`, `sgk eks token NAME`, `aws-iam-authenticator token -i NAME`). The same
/// facts naming another cluster refuse it. A context that says nothing either way is the user's
/// word: accepted, with a note.
public struct ClusterBinding: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// It is the cluster; how that is known.
        case proven(String)
        /// It is another cluster: which, and how that is known.
        case other(cluster: String, because: String)
        /// Nothing says either way.
        case unknown
    }

    /// The facts of the EKS cluster.
    public struct Cluster: Sendable, Equatable {
        public var name: String
        public var region: String?
        public var arn: String?
        public var endpoint: String?
        public init(name: String, region: String?, arn: String?, endpoint: String?) {
            self.name = name; self.region = region; self.arn = arn; self.endpoint = endpoint
        }
    }

    /// What a context holds that can name a cluster.
    public struct Context: Sendable, Equatable {
        public var name: String
        public var clusterEntry: String
        public var server: String
        public var execCommand: String?
        public var execArgs: [String]
        public init(name: String, clusterEntry: String, server: String, execCommand: String? = nil, execArgs: [String] = []) {
            self.name = name; self.clusterEntry = clusterEntry; self.server = server
            self.execCommand = execCommand; self.execArgs = execArgs
        }

        public init(_ target: KubeTarget) {
            self.init(name: target.contextName, clusterEntry: target.cluster.name, server: target.cluster.server,
                      execCommand: target.user.exec?.command, execArgs: target.user.exec?.args ?? [])
        }
    }

    /// The verdict on `context` for `cluster`.
    public static func judge(_ context: Context, for cluster: Cluster) -> Verdict {
        // The cluster entry's name, when it is an EKS cluster ARN.
        if let arn = cluster.arn, context.clusterEntry == arn { return .proven("its kubeconfig cluster entry is named by the cluster's ARN") }
        if let other = eksClusterName(arn: context.clusterEntry), other.name != cluster.name || (cluster.region.map { $0 != other.region } ?? false) {
            return .other(cluster: "\(other.name) (\(other.region))", because: "its kubeconfig cluster entry is \(context.clusterEntry)")
        }
        // The server.
        if let endpoint = cluster.endpoint, normalized(context.server) == normalized(endpoint) {
            return .proven("its server is the cluster's endpoint")
        }
        // The exec plugin.
        if let (name, region) = execCluster(command: context.execCommand, args: context.execArgs) {
            if name == cluster.name || name == cluster.arn {
                if let region, let want = cluster.region, region != want {
                    return .other(cluster: "\(name) (\(region))", because: "its user's exec plugin makes tokens for \(name) in \(region)")
                }
                return .proven("its user's exec plugin makes tokens for \(name)")
            }
            return .other(cluster: region.map { "\(name) (\($0))" } ?? name, because: "its user's exec plugin makes tokens for \(name)")
        }
        // Another EKS endpoint.
        if let endpoint = cluster.endpoint, isEKSEndpoint(context.server), isEKSEndpoint(endpoint),
           normalized(context.server) != normalized(endpoint) {
            return .other(cluster: "another EKS cluster", because: "its server \(context.server) is not \(cluster.name)'s endpoint \(endpoint)")
        }
        return .unknown
    }

    /// `arn:PARTITION:eks:REGION:ACCOUNT:cluster/NAME` → (NAME, REGION).
    static func eksClusterName(arn: String) -> (name: String, region: String)? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "eks", parts[5].hasPrefix("cluster/") else { return nil }
        return (String(parts[5].dropFirst("cluster/".count)), String(parts[3]))
    }

    /// The cluster (and region) an exec plugin makes tokens for.
    static func execCluster(command: String?, args: [String]) -> (name: String, region: String?)? {
        guard let command else { return nil }
        let program = (command as NSString).lastPathComponent
        func value(after flags: [String]) -> String? {
            for (i, a) in args.enumerated() {
                for f in flags {
                    if a == f, i + 1 < args.count { return args[i + 1] }
                    if a.hasPrefix(f + "=") { return String(a.dropFirst(f.count + 1)) }
                }
            }
            return nil
        }
        switch program {
        case "aws" where args.starts(with: ["eks", "get-token"]) || (args.contains("eks") && args.contains("get-token")):
            guard let name = value(after: ["--cluster-name", "--cluster-id"]) else { return nil }
            return (name, value(after: ["--region"]))
        case "sgk" where args.starts(with: ["eks", "token"]) && args.count >= 3:
            return (args[2], value(after: ["region:", "--region"]))
        case "aws-iam-authenticator" where args.first == "token":
            guard let name = value(after: ["-i", "--cluster-id"]) else { return nil }
            return (name, value(after: ["--region"]))
        default:
            return nil
        }
    }

    static func isEKSEndpoint(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        return host.hasSuffix(".eks.amazonaws.com") || host.hasSuffix(".eks.amazonaws.com.cn")
    }

    /// A server URL compared as kubectl reaches it: scheme and host in lower case, no default
    /// port, no trailing slash.
    static func normalized(_ url: String) -> String {
        guard var c = URLComponents(string: url) else { return url }
        c.scheme = c.scheme?.lowercased()
        c.host = c.host?.lowercased()
        if c.port == 443 && c.scheme == "https" { c.port = nil }
        var path = c.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        c.percentEncodedPath = path
        return c.string ?? url
    }
}

/// `eks bind`: the cluster binding as a command, used by every procedure that takes `cluster:`
/// before its first write.
public enum ClusterBindingLibrary: CommandLibrary {
    public static var commands: [NativeCommand] { [bind] }

    static let bind = NativeCommand(CommandSignature(
        "eks bind", positionals: [.init("cluster", "the EKS cluster's name")],
        keywords: [AWSLibrary.region,
                   .init("context", flags: ["--context"], "the kubeconfig context to use (default: the one that is the cluster, else the cluster reached in-process)")],
        summary: "The Kubernetes side of an EKS cluster: {cluster, region, arn, endpoint, context, server, proof}; the context to pass on (--context). A context that is another cluster is an error (WrongCluster).",
        example: "eks bind demo region: us-west-2 context: $context")) { inv in
        let name = try inv.args.string(0, "the cluster name")
        let region = try inv.args.string(keyword: "region")
        let contextName = try inv.args.string(keyword: "context")
        let described = try AWSLibrary.describe(inv, name, region)
        let effectiveRegion = region ?? AWSClients.of(inv.context).configuration(region: nil).region
        let cluster = ClusterBinding.Cluster(name: name, region: effectiveRegion, arn: described.arn, endpoint: described.endpoint)
        let clients = KubectlClients.of(inv.context)
        let env = KubectlClients.environment(inv.context)
        let suffix = effectiveRegion.map { " (\($0))" } ?? ""
        func refuse(_ which: String, _ other: String, _ because: String) -> CommandError {
            CommandError(
                "\(which) is \(other), not the EKS cluster \(name)\(suffix): \(because); nothing was written",
                code: "WrongCluster",
                hint: "pass the context of \(name) (--context NAME; `sgk eks kubeconfig \(name)\(effectiveRegion.map { " region: \($0)" } ?? "") write: true` adds one, as aws eks update-kubeconfig does), or the cluster that context is (--cluster)")
        }
        var chosen: ClusterBinding.Context
        var proof: Value = .null
        var how: String
        if let contextName {
            // The user named it: proven or silent, it is used; another cluster is refused.
            chosen = ClusterBinding.Context(try clients.client(inv.context, kubeconfig: nil, contextName: contextName).target)
            switch ClusterBinding.judge(chosen, for: cluster) {
            case .proven(let why):
                proof = .string(why); how = "named (--context), and \(why)"
            case .other(let other, let because):
                throw refuse("context \(chosen.name)", other, because)
            case .unknown:
                how = "named (--context); sgk could not confirm it is the cluster"
                let errors = inv.context.errors
                errors.write("note: sgk could not confirm that context \(chosen.name) (server \(SecretText.redactedURL(chosen.server))) is the EKS cluster \(name): its server is not the cluster's endpoint, its cluster entry is not named by the cluster's ARN and its user's exec plugin names no cluster; it is used because it was named\n")
                errors.flush()
            }
        } else {
            // Not named: the kubeconfig context that proves it is the cluster (the current one
            // first); a current context that is another cluster is refused; else the cluster is
            // reached in-process from DescribeCluster (endpoint, CA, a token signed here).
            // Missing files are an empty kubeconfig; a malformed one is said, not skipped.
            let config: KubeConfig? = try KubeConfig.load(environment: env)
            var found: (ClusterBinding.Context, String)?
            var currentVerdict: ClusterBinding.Verdict?
            var currentContext: ClusterBinding.Context?
            if let config {
                let names = config.contexts.keys.sorted { a, b in a == config.currentContext && b != config.currentContext }
                for n in names {
                    guard let target = try? config.resolve(context: n) else { continue }
                    let c = ClusterBinding.Context(target)
                    let verdict = ClusterBinding.judge(c, for: cluster)
                    if n == config.currentContext { currentVerdict = verdict; currentContext = c }
                    if case .proven(let why) = verdict, found == nil { found = (c, why) }
                }
            }
            if let (c, why) = found {
                chosen = c
                proof = .string(why)
                how = (c.name == config?.currentContext ? "the current context, and " : "the kubeconfig context that is the cluster: ") + why
            } else if let currentContext, case .other(let other, let because)? = currentVerdict {
                throw refuse("the current context \(currentContext.name)", other, because)
            } else {
                guard let endpoint = described.endpoint, let ca = described.certificateAuthorityData,
                      let caPEM = Data(base64Encoded: ca) else {
                    throw CommandError("no kubeconfig context is the EKS cluster \(name), and DescribeCluster gives no endpoint and CA to reach it (status \(described.status ?? "unknown"))",
                                       code: "WrongCluster", hint: "wait until the cluster is ACTIVE, or pass its context (--context NAME)")
                }
                let contextName = described.arn ?? "eks:\(name)"
                var args = ["eks", "token", name]
                if let r = effectiveRegion { args += ["region:", r] }
                let target = KubeTarget(
                    contextName: contextName,
                    cluster: ClusterConfig(name: contextName, server: endpoint, certificateAuthorityData: Array(caPEM)),
                    user: UserConfig(name: contextName, exec: ExecConfig(apiVersion: "client.authentication.k8s.io/v1beta1", command: "sgk", args: args)),
                    namespace: "default")
                clients.register(target)
                chosen = ClusterBinding.Context(target)
                proof = .string("reached in-process from DescribeCluster")
                how = "no kubeconfig context is the cluster (\(currentContext.map { "the current context \($0.name) proves nothing" } ?? "no kubeconfig")): its endpoint and CA from DescribeCluster, a token signed in-process"
            }
        }
        if inv.context.options.dryRun || inv.context.options.explain {
            let errors = inv.context.errors
            errors.write("cluster: \(name)'s API server is \(SecretText.redactedURL(chosen.server)), context \(chosen.name): \(how)\n")
            errors.flush()
        }
        let context = chosen
        return .ordered([
            ("cluster", .string(name)), ("region", effectiveRegion.map(Value.string)), ("arn", described.arn.map(Value.string)),
            ("endpoint", described.endpoint.map(Value.string)), ("context", .string(context.name)),
            ("server", .string(SecretText.redactedURL(context.server))), ("proof", proof),
        ])
    }
}
