import Foundation
import Yams

/// An invalid configuration file: the dotted path of the offending key (`sources[0].eventTime.unit`)
/// and the reason. Every service's configuration reports errors this way.
public struct ConfigurationError: Swift.Error, Equatable, CustomStringConvertible {
    public var key: String
    public var reason: String
    public var description: String { "invalid configuration at '\(key)': \(reason)" }

    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }
}

/// Walks a YAML mapping with the key path kept for error messages.
public struct ConfigReader {
    public let node: Node.Mapping
    public let path: String

    public init(node: Node.Mapping, path: String) {
        self.node = node
        self.path = path
    }

    public func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public var entries: [(String, Node)] { node.compactMap { key, value in key.string.map { ($0, value) } } }

    public func check(allowed: Set<String>) throws(ConfigurationError) {
        for (key, _) in node {
            guard let name = key.string, allowed.contains(name) else {
                throw ConfigurationError(key: path(key.string ?? "?"), reason: "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    public func node(_ key: String) throws(ConfigurationError) -> Node? { node[key] }

    public func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = node[key] else { return nil }
        guard let scalar = value.scalar else { throw ConfigurationError(key: path(key), reason: "expected a string") }
        return scalar.string
    }

    public func number(_ key: String) throws(ConfigurationError) -> Double? {
        guard let text = try string(key) else { return nil }
        guard let value = Double(text), value.isFinite else { throw ConfigurationError(key: path(key), reason: "'\(text)' is not a number") }
        return value
    }

    public func integer(_ key: String) throws(ConfigurationError) -> Int? {
        guard let text = try string(key) else { return nil }
        guard let value = Int(text) else { throw ConfigurationError(key: path(key), reason: "'\(text)' is not an integer") }
        return value
    }

    /// "500ms", "10s", "5m", "1h" → milliseconds.
    public func duration(_ key: String) throws(ConfigurationError) -> Int64? {
        guard let text = try string(key) else { return nil }
        guard let value = DurationText.milliseconds(text) else {
            throw ConfigurationError(key: path(key), reason: "'\(text)' is not a duration like 500ms, 10s, 5m or 1h")
        }
        return value
    }

    /// A `host:port` to listen on (`0.0.0.0:9464`, `[::1]:9092`; port 0 picks a free one).
    public func hostPort(_ key: String) throws(ConfigurationError) -> HostPort? {
        guard let text = try string(key) else { return nil }
        guard let value = HostPort(text) else { throw ConfigurationError(key: path(key), reason: "'\(text)' is not host:port with a port in 0...65535") }
        return value
    }

    public func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let value = node[key] else { return nil }
        if let scalar = value.scalar { return scalar.string.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        guard let sequence = value.sequence else { throw ConfigurationError(key: path(key), reason: "expected a list") }
        var result: [String] = []
        for item in sequence {
            guard let scalar = item.scalar else { throw ConfigurationError(key: path(key), reason: "expected a list of strings") }
            result.append(scalar.string)
        }
        return result
    }

    public func stringMap(_ key: String) throws(ConfigurationError) -> [String: String]? {
        guard let section = try mapping(key) else { return nil }
        var result: [String: String] = [:]
        for (name, value) in section.entries {
            guard let scalar = value.scalar else { throw ConfigurationError(key: section.path(name), reason: "expected a string") }
            result[name] = scalar.string
        }
        return result
    }

    public func mapping(_ key: String) throws(ConfigurationError) -> ConfigReader? {
        guard let value = node[key] else { return nil }
        guard let mapping = value.mapping else { throw ConfigurationError(key: path(key), reason: "expected a mapping") }
        return ConfigReader(node: mapping, path: path(key))
    }

    public func sequence(_ key: String) throws(ConfigurationError) -> [ConfigReader]? {
        guard let value = node[key] else { return nil }
        guard let sequence = value.sequence else { throw ConfigurationError(key: path(key), reason: "expected a list") }
        var result: [ConfigReader] = []
        for (index, item) in sequence.enumerated() {
            guard let mapping = item.mapping else { throw ConfigurationError(key: "\(path(key))[\(index)]", reason: "expected a mapping") }
            result.append(ConfigReader(node: mapping, path: "\(path(key))[\(index)]"))
        }
        return result
    }
}

extension ConfigReader {
    /// The top-level mapping of a YAML document.
    public static func document(_ yaml: String) throws(ConfigurationError) -> ConfigReader {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw ConfigurationError(key: "(file)", reason: "not valid YAML: \(error)") }
        guard let root, let top = root.mapping else { throw ConfigurationError(key: "(file)", reason: "the top level must be a mapping") }
        return ConfigReader(node: top, path: "")
    }

    /// The text of a configuration file.
    public static func read(path: String) throws(ConfigurationError) -> String {
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigurationError(key: "(file)", reason: "cannot read \(path): \(error.localizedDescription)")
        }
    }
}
