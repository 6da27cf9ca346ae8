import Testing
@testable import SGKPrimitives

/// The verdicts of the cluster binding: each proof accepted, each fact naming another cluster
/// refused, silence accepted (with a note, said by the command).
@Suite struct ClusterBindingTests {
    let demo = ClusterBinding.Cluster(name: "demo", region: "us-west-2", arn: "arn:aws:eks:us-west-2:123456789012:cluster/demo",
                                      endpoint: "https://ABC123.gr7.us-west-2.eks.amazonaws.com")

    func ctx(entry: String = "kind-local", server: String = "https://127.0.0.1:6443", exec: String? = nil, args: [String] = []) -> ClusterBinding.Context {
        ClusterBinding.Context(name: "ctx", clusterEntry: entry, server: server, execCommand: exec, execArgs: args)
    }

    @Test func proofsAreAccepted() {
        // What aws eks update-kubeconfig writes: the entry named by the ARN, the endpoint, the exec plugin.
        #expect(ClusterBinding.judge(ctx(entry: demo.arn!), for: demo) == .proven("its kubeconfig cluster entry is named by the cluster's ARN"))
        #expect(ClusterBinding.judge(ctx(server: "https://abc123.gr7.us-west-2.eks.amazonaws.com:443/"), for: demo) == .proven("its server is the cluster's endpoint"))
        #expect(ClusterBinding.judge(ctx(exec: "/usr/local/bin/aws", args: ["--region", "us-west-2", "eks", "get-token", "--cluster-name", "demo"]), for: demo)
                == .proven("its user's exec plugin makes tokens for demo"))
        #expect(ClusterBinding.judge(ctx(exec: "sgk", args: ["eks", "token", "demo", "region:", "us-west-2"]), for: demo)
                == .proven("its user's exec plugin makes tokens for demo"))
        #expect(ClusterBinding.judge(ctx(exec: "aws-iam-authenticator", args: ["token", "-i", "demo"]), for: demo)
                == .proven("its user's exec plugin makes tokens for demo"))
    }

    @Test func anotherClusterIsRefused() {
        guard case .other(let c, let why) = ClusterBinding.judge(ctx(entry: "arn:aws:eks:us-west-2:123456789012:cluster/prod"), for: demo) else {
            Issue.record("not refused"); return
        }
        #expect(c == "prod (us-west-2)")
        #expect(why == "its kubeconfig cluster entry is arn:aws:eks:us-west-2:123456789012:cluster/prod")
        // The same name in another region is another cluster.
        guard case .other = ClusterBinding.judge(ctx(entry: "arn:aws:eks:eu-west-1:123456789012:cluster/demo"), for: demo) else {
            Issue.record("another region not refused"); return
        }
        guard case .other(let e, _) = ClusterBinding.judge(ctx(exec: "aws", args: ["eks", "get-token", "--cluster-name", "staging"]), for: demo) else {
            Issue.record("exec plugin of another cluster not refused"); return
        }
        #expect(e == "staging")
        guard case .other = ClusterBinding.judge(ctx(exec: "aws", args: ["eks", "get-token", "--cluster-name", "demo", "--region", "eu-west-1"]), for: demo) else {
            Issue.record("exec plugin of another region not refused"); return
        }
        guard case .other = ClusterBinding.judge(ctx(server: "https://OTHER.yl4.us-west-2.eks.amazonaws.com"), for: demo) else {
            Issue.record("another EKS endpoint not refused"); return
        }
    }

    @Test func silenceIsTheUsersWord() {
        #expect(ClusterBinding.judge(ctx(), for: demo) == .unknown)   // a tunnel, a static token
        #expect(ClusterBinding.judge(ctx(exec: "kubelogin", args: ["get-token"]), for: demo) == .unknown)
    }
}
