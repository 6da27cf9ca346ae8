import SGKLanguage

/// Registers every AWS and Kubernetes primitive library.
public enum Primitives {
    public static func register(into registry: inout CommandRegistry) {
        registry.register(AWSLibrary.self)
        registry.register(KubectlLibrary.self)
    }
}
