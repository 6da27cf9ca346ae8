import Foundation
import SGKData
import SGKKubernetes
import SGKLanguage

/// `kubectl …` primitives: apply, get, delete, wait, rollout status, logs, api-resources, version and
/// config, performed natively through `SGKKubernetes` (no kubectl binary). Every write goes through
/// the Effects seam.
public enum KubectlLibrary: CommandLibrary {
    private static let hook = HookBox()

    /// In-process exec credential hook: consulted before an exec plugin of a kubeconfig user is run
    /// (e.g. `aws eks get-token` / `sgk eks token`), so the AWS side can mint the token without a
    /// sub-process. Return nil to let the plugin run. Set it before the first `kubectl` command of a run.
    public static var execTokenProvider: ExecTokenProvider? {
        get { hook.get() }
        set { hook.set(newValue) }
    }

    /// What `kubectl version` reports as the client.
    public static let clientVersion = "sgk"

    // Keywords shared by the commands, with kubectl's spellings.
    static let namespaceKW = CommandSignature.Keyword("namespace", flags: ["-n", "--namespace"], "the namespace (default: the context's)")
    static let contextKW = CommandSignature.Keyword("context", flags: ["--context"], "the kubeconfig context (default: current-context)")
    static let kubeconfigKW = CommandSignature.Keyword("kubeconfig", flags: ["--kubeconfig"], isPath: true,
                                                       "the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    static let outputKW = CommandSignature.Keyword("output", flags: ["-o", "--output"], "print the result: yaml, json, name, wide, table")
    static let selectorKW = CommandSignature.Keyword("selector", flags: ["-l", "--selector"], "a label selector, e.g. app=web")
    static let dryRunKW = CommandSignature.Keyword("dry-run", isSwitch: true, flags: ["--dry-run"],
                                                   "server (or client): plan this call only; reads and server dry runs happen, nothing is written")
    static let timeoutKW = CommandSignature.Keyword("timeout", flags: ["--timeout"], "how long to wait, e.g. 60s")
    static let common = [namespaceKW, contextKW, kubeconfigKW, outputKW]
    static let kustomizeKW = CommandSignature.Keyword("kustomize", flags: ["-k", "--kustomize"], isPath: true,
                                                      "a kustomization directory: its objects as `kubectl kustomize DIR` renders them")

    public static var commands: [NativeCommand] {
        [
            NativeCommand(CommandSignature(
                "kubectl apply",
                positionals: [.init("manifest", optional: true, flags: ["-f", "--filename"], isPath: true,
                                    "a file, directory or URL of YAML/JSON, or a map or list of maps")],
                keywords: common + [
                    kustomizeKW,
                    dryRunKW,
                    .init("server-side", isSwitch: true, flags: ["--server-side"], "accepted for habit: apply is always server-side"),
                    .init("force-conflicts", isSwitch: true, flags: ["--force-conflicts"], "take ownership of fields other managers own"),
                    .init("field-manager", flags: ["--field-manager"], "the field manager (default sgk)"),
                ],
                input: .subject,
                summary: "Apply manifests with server-side apply, concurrently (custom resources wait for their CRDs; v1beta1 CRDs converted when the server lacks v1beta1). Returns [{kind, apiVersion, name, namespace, action}].",
                example: "kubectl apply -f installer.yaml", isWrite: true).withSubjectKeywords(["kustomize"]), KubectlCommands.apply),

            NativeCommand(CommandSignature(
                "kubectl kustomize",
                positionals: [.init("dir", optional: true, isPath: true, "the kustomization directory (default: the current directory)")],
                keywords: [.init("output", flags: ["-o", "--output"], "print the objects: yaml (as kubectl kustomize prints them), json, name")],
                summary: "Render a local kustomization directory natively, as kustomize v5.5 (kubectl v1.32) does: the list of objects in kustomize's order. Supported fields: resources, namespace, namePrefix, nameSuffix, images, commonLabels, labels, commonAnnotations, patches, patchesStrategicMerge, patchesJson6902, configMapGenerator, secretGenerator; any other is an error.",
                example: "kubectl kustomize config/default -o yaml"), KubectlCommands.kustomize),

            NativeCommand(CommandSignature(
                "kubectl get",
                positionals: [.init("resource", "a resource type (pods, deploy, crd, trainingjobs.sagemaker.aws.amazon.com) or TYPE/NAME"),
                              .init("name", optional: true, "an object's name")],
                keywords: common + [
                    .init("all-namespaces", isSwitch: true, flags: ["-A", "--all-namespaces"], "list across all namespaces"),
                    selectorKW,
                    .init("field-selector", flags: ["--field-selector"], "a field selector, e.g. status.phase=Running"),
                    .init("ignore-not-found", isSwitch: true, flags: ["--ignore-not-found"], "return null instead of failing when NAME does not exist"),
                    .init("show-managed-fields", isSwitch: true, flags: ["--show-managed-fields"], "keep metadata.managedFields (who set which field, and when)"),
                ],
                summary: "Get one object (with NAME) or the list of objects. -o wide|table prints kubectl's table; -o yaml|json|name print those.",
                example: "kubectl -n $namespace get pods -o wide"), KubectlCommands.get),

            NativeCommand(CommandSignature(
                "kubectl delete",
                positionals: [.init("resource", optional: true, "a resource type, or TYPE/NAME"),
                              .init("names", variadic: true, "names of objects")],
                keywords: common + [
                    .init("filename", flags: ["-f", "--filename"], isPath: true, "delete the objects of a file, URL, map or list of maps"),
                    kustomizeKW,
                    selectorKW,
                    .init("wait", isSwitch: true, flags: ["--wait"], "wait until the objects are gone (default true)"),
                    timeoutKW,
                    .init("ignore-not-found", isSwitch: true, flags: ["--ignore-not-found"], "treat absent objects as deleted"),
                    dryRunKW,
                ],
                summary: "Delete objects by name, selector, file or value (propagation Background); waits, bounded by --timeout, until they are gone.",
                example: "kubectl delete configmap settings -n demo --timeout=60s", isWrite: true), KubectlCommands.delete),

            NativeCommand(CommandSignature(
                "kubectl patch",
                positionals: [.init("resource", "a resource type, or TYPE/NAME"), .init("name", optional: true, "the object's name")],
                keywords: common + [
                    .init("patch", flags: ["-p", "--patch"], "the patch: a map (a list for --type json) or JSON/YAML text"),
                    .init("type", flags: ["--type"], "merge, strategic (default) or json"),
                    dryRunKW,
                ],
                input: .none,
                summary: "Patch one object (merge, strategic or json patch); unchanged — no write — when the patch changes nothing.",
                example: "kubectl patch trainingjob xgboost -n ml --type merge -p '{\"metadata\":{\"finalizers\":null}}'", isWrite: true), KubectlCommands.patch),

            NativeCommand(CommandSignature(
                "kubectl wait",
                positionals: [.init("target", "TYPE/NAME or TYPE"), .init("name", optional: true, "an object's name, or a list of names")],
                keywords: common + [
                    .init("for", required: true, flags: ["--for"], "condition=NAME[=VALUE], delete, create, or jsonpath={.path}=VALUE"),
                    timeoutKW, selectorKW,
                    .init("all", isSwitch: true, flags: ["--all"], "every object of the type in the namespace"),
                ],
                summary: "Wait (watch-based, bounded by --timeout, default 30s) until objects meet a condition; returns the object(s). A named object that does not exist is a NotFound error at once (--for=create waits for it).",
                example: "kubectl wait deployment/web --for=condition=Available -n demo --timeout=120s"), KubectlCommands.wait),

            NativeCommand(CommandSignature(
                "kubectl rollout status",
                positionals: [.init("target", "deployment/NAME"), .init("name", optional: true, "the Deployment's name")],
                keywords: common + [timeoutKW],
                summary: "Wait until a Deployment's rollout is complete (default timeout 5m); returns kubectl's final message.",
                example: "kubectl rollout status deployment/web -n demo --timeout=2m"), KubectlCommands.rolloutStatus),

            NativeCommand(CommandSignature(
                "kubectl logs",
                positionals: [.init("pod", "POD or pod/NAME")],
                keywords: [namespaceKW, contextKW, kubeconfigKW,
                           .init("output", flags: ["-o", "--output"], "text: print the log"),
                           .init("container", flags: ["-c", "--container"], "the container (default: the pod's only one)"),
                           .init("tail", flags: ["--tail"], "the last N lines only (-1: all)"),
                           .init("previous", isSwitch: true, flags: ["-p", "--previous"], "the previous (terminated) instance of the container")],
                summary: "A container's log (the pod log API; the API server asks the node's kubelet). Returns the text; -o text prints it.",
                example: "kubectl logs $pod -n demo -c manager --tail 20 --previous"), KubectlCommands.logs),

            NativeCommand(CommandSignature(
                "kubectl create token",
                positionals: [.init("service-account", "the service account's name")],
                keywords: [namespaceKW, contextKW, kubeconfigKW,
                           .init("audience", flags: ["--audience"], "an audience of the token (repeatable; default: the API server's)"),
                           .init("duration", flags: ["--duration"], "how long the token is valid (default: the server's, usually 1h)")],
                summary: "A token of the service account from the TokenRequest API, as a pod would get it (kubectl create token). Returns the token; `jwt claims` reads what it says.",
                example: "jwt claims (kubectl create token runner -n ml --audience sts.amazonaws.com)"), KubectlCommands.createToken),

            NativeCommand(CommandSignature(
                "kubectl api-resources",
                keywords: [contextKW, kubeconfigKW, outputKW,
                           .init("namespaced", isSwitch: true, flags: ["--namespaced"], "only namespaced (true) or cluster-scoped (false) types"),
                           .init("api-group", flags: ["--api-group"], "only this API group (\"\" for the core group)")],
                summary: "The resource types the server serves (preferred versions): [{name, shortNames, apiVersion, namespaced, kind, verbs}].",
                example: "kubectl api-resources -o wide"), KubectlCommands.apiResources),

            NativeCommand(CommandSignature(
                "kubectl version",
                keywords: [contextKW, kubeconfigKW, outputKW,
                           .init("client", isSwitch: true, flags: ["--client"], "the client version only (no server call)")],
                summary: "Client and server versions: {clientVersion, serverVersion}.",
                example: "(kubectl version).serverVersion.gitVersion"), KubectlCommands.version),

            NativeCommand(CommandSignature(
                "kubectl config current-context",
                keywords: [kubeconfigKW, outputKW],
                summary: "The kubeconfig's current-context.",
                example: "kubectl config current-context"), KubectlCommands.currentContext),

            NativeCommand(CommandSignature(
                "kubectl config get-contexts",
                positionals: [.init("name", optional: true, "only this context")],
                keywords: [kubeconfigKW, outputKW],
                summary: "The kubeconfig's contexts: [{current, name, cluster, authInfo, namespace}].",
                example: "kubectl config get-contexts -o table"), KubectlCommands.getContexts),

            NativeCommand(CommandSignature(
                "kubectl config use-context",
                positionals: [.init("name", "the context to make current")],
                keywords: [kubeconfigKW, outputKW],
                summary: "Set current-context in the kubeconfig file (a write, through --dry-run/--explain).",
                example: "kubectl config use-context staging", isWrite: true), KubectlCommands.useContext),
        ]
    }
}

extension CommandSignature {
    /// The signature with keywords that stand in for its subject.
    func withSubjectKeywords(_ names: [String]) -> CommandSignature {
        var s = self
        s.subjectKeywords = names
        return s
    }
}
