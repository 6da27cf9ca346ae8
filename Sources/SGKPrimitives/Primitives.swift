import Foundation
import SGKAWS
import SGKKubernetes
import SGKLanguage

/// Registers every AWS and Kubernetes primitive library.
public enum Primitives {
    public static func register(into registry: inout CommandRegistry) {
        ShellForms.register()
        for c in AWSLibrary.commands + IdentityLibrary.commands + KubectlLibrary.commands + JournalLibrary.commands + ClusterBindingLibrary.commands {
            registry.register(c.signature.isWrite ? lockingJournal(c) : c)
        }
    }

    /// A command that may write takes the journal's lock before it reads what is there (its
    /// read-before-write then sees what another run sharing the journal made: see `Effects.lockJournal`).
    static func lockingJournal(_ c: NativeCommand) -> NativeCommand {
        let run = c.run
        return NativeCommand(c.signature) { inv in
            try Effects.of(inv.context).lockJournal()
            return try run(inv)
        }
    }

    /// Lets `kubectl` primitives make EKS tokens in-process (the executable calls this once).
    public static func installEKSTokenHook() {
        KubectlLibrary.execTokenProvider = eksExecToken
    }

    /// Makes EKS tokens in-process for kubeconfig users whose exec plugin is
    /// `aws eks get-token --cluster-name X [--region R]` or `sgk eks token X [region: R]`,
    /// so no `aws` binary (or second sgk) is started. Other plugins run as usual.
    static let eksExecToken: ExecTokenProvider = { config in
        let command = (config.command as NSString).lastPathComponent
        var cluster: String?
        var region: String?
        if command == "aws", config.args.starts(with: ["eks", "get-token"]) {
            cluster = config.argument(after: "--cluster-name") ?? config.argument(after: "--cluster-id")
            region = config.argument(after: "--region")
        } else if command == "sgk", config.args.starts(with: ["eks", "token"]), config.args.count >= 3 {
            cluster = config.args[2]
            if let i = config.args.firstIndex(of: "region:"), i + 1 < config.args.count { region = config.args[i + 1] }
        }
        guard let cluster else { return nil }
        var env = ProcessInfo.processInfo.environment
        for e in config.env { env[e.name] = e.value }
        let client = AWSClient(configuration: .load(environment: env, region: region))
        do {
            let t = try await client.eks.token(clusterName: cluster)
            try? await client.shutdown()
            return ExecCredential(token: t.token, expirationTimestamp: t.expiration)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
