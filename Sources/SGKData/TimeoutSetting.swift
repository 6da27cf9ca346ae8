import Foundation

/// A time-out set in seconds by an environment variable (`SGK_CONNECT_TIMEOUT`,
/// `SGK_REQUEST_TIMEOUT`): fractions allowed, unset or empty gives the default.
public enum TimeoutSetting {
    public static let connectVariable = "SGK_CONNECT_TIMEOUT"
    public static let requestVariable = "SGK_REQUEST_TIMEOUT"

    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var variable: String
        public var value: String
        public var description: String { "\(variable) must be a number of seconds greater than 0, not '\(value)'" }
    }

    /// The seconds `environment[variable]` asks for, else `default`.
    public static func seconds(_ environment: [String: String], _ variable: String, default value: Double) throws(Invalid) -> Double {
        guard let raw = environment[variable]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return value }
        guard let v = Double(raw), v.isFinite, v > 0 else { throw Invalid(variable: variable, value: raw) }
        return v
    }
}
